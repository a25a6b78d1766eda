// Uppy Companion peer of bench/http-peers.sh: `@uppy/companion`'s app (as Express middleware,
// its documented way to embed it) on 127.0.0.1:PORT (argv[2]), one process, with Companion's
// defaults except what it requires (secret, filePath, server.host, corsOrigins) and its S3
// options: the fixed example credentials, eu-west-1, the bench bucket, the key
// `users/42/<uuid>/<filename>`, a content-length-range of 1 byte to 5 MiB and 600 s.
// `GET /s3/params?filename=&type=` signs with aws-sdk-js v3's createPresignedPost, fields
// `content-type` and success_action_status 201 (both become conditions). Nothing here needs
// the network. `GET /healthz` answers from Express directly (the floor).
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as companion from "@uppy/companion";
import express from "express";

const port = Number(process.argv[2]);
const filePath = process.argv[3] ?? mkdtempSync(join(tmpdir(), "companion-"));

const app = express();
app.get("/healthz", (_req, res) => res.json({ status: "ok" }));
const { app: companionApp } = companion.app({
  secret: "signpost-bench-companion-secret-0123456789",
  filePath,
  server: { host: `127.0.0.1:${port}`, protocol: "http" },
  corsOrigins: true,
  uploadUrls: ["http://127.0.0.1/"],
  s3: {
    key: "AKIAIOSFODNN7EXAMPLE",
    secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    bucket: "signpost-bench-uploads",
    region: "eu-west-1",
    getKey: ({ filename }) => `users/42/${randomUUID()}/${filename}`,
    conditions: [["content-length-range", 1, 5 << 20]],
    expires: 600,
  },
});
app.use(companionApp);
app.listen(port, "127.0.0.1");
