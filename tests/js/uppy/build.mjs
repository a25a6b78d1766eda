#!/usr/bin/env node
// Builds the Uppy test page into OUTDIR (default: ../../../target/js/uppy):
//   uppy.js     Uppy 6 (@uppy/core + @uppy/aws-s3 from tests/js/node_modules), one IIFE
//   uppy5.js    Uppy 5 (from tests/js/uppy5/node_modules), one IIFE with the same globals
//   harness.js  the page's own script (copied as it is)
//   index.html  the page (copied from page.html)
// Each file is written to a temporary name and renamed, so test processes building at the
// same time never serve a half-written file.
//
//   node tests/js/uppy/build.mjs [OUTDIR]

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = resolve(process.argv[2] ?? join(here, '../../../target/js/uppy'));
mkdirSync(outdir, { recursive: true });

function put(name, contents) {
  const tmp = join(outdir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, contents);
  renameSync(tmp, join(outdir, name));
}

const bundles = [
  { entry: join(here, 'entry.js'), out: 'uppy.js', modules: join(here, '../node_modules') },
  { entry: join(here, '../uppy5/entry.js'), out: 'uppy5.js', modules: join(here, '../uppy5/node_modules') },
];
for (const { modules } of bundles) {
  if (!existsSync(join(modules, '@uppy/aws-s3/package.json'))) {
    console.error(`${modules} has no @uppy/aws-s3: run scripts/install-test-deps.sh (npm ci in tests/js and tests/js/uppy5)`);
    process.exit(1);
  }
}

for (const { entry, out } of bundles) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['chrome120'],
    write: false,
    logLevel: 'warning',
    legalComments: 'none',
  });
  put(out, result.outputFiles[0].contents);
}
put('harness.js', readFileSync(join(here, 'harness.js')));
put('index.html', readFileSync(join(here, 'page.html')));
process.stdout.write(`${JSON.stringify({ dir: outdir, files: [...bundles.map((b) => b.out), 'harness.js', 'index.html'] })}\n`);
