// The Uppy test page's own script (a file, never inline: signpost's CSP has script-src
// 'self'). It loads the Uppy bundle, makes a file of exactly `size` bytes in memory, uploads
// it with @uppy/aws-s3 in one of three modes and records everything in window.__uppyResult,
// which WebDriver polls. tests/js/README.md documents the contract.
//
// Configuration: data-* attributes on #uppy-harness (or <html>), overridden by the query
// string. All names are listed in DEFAULTS.
(() => {
  'use strict';

  const MiB = 1024 * 1024;
  // Where this script came from: the bundles sit beside it.
  const SCRIPT_SRC = document.currentScript ? document.currentScript.src : window.location.href;
  const DEFAULTS = {
    uppy: '6', // which bundle: '6' (uppy.js); '5' (uppy5.js) when built
    mode: 'post', // 'post' (Companion /s3/params), 'put' (presign callback), 'multipart'
    endpoint: '', // Companion endpoint; '' = this page's origin
    presign: '', // PUT mode's presign URL; '' = ENDPOINT/api/v1/presign
    presignExtra: '{}', // JSON merged into the presign request body
    headers: '{}', // JSON headers added to every request to endpoint and presign
    credentials: 'same-origin', // fetch credentials for those requests ('include': cookies cross-origin)
    size: '1024', // the file's size in bytes
    name: '', // file name; '' = harness-SIZE.bin
    type: 'application/octet-stream',
    profile: '', // meta.profile (omitted when empty)
    metaSize: '1', // '1': meta.size = SIZE; '0': no size in the meta
    meta: '{}', // JSON, more meta fields
    chunk: String(5 * MiB), // multipart part size in bytes (S3 and Uppy: at least 5 MiB)
    autostart: '1', // '0': wait for window.__uppyStart()
  };

  function readConfig() {
    const el = document.getElementById('uppy-harness') || document.documentElement;
    const cfg = { ...DEFAULTS };
    for (const k of Object.keys(DEFAULTS)) {
      if (el.dataset[k] !== undefined) cfg[k] = el.dataset[k];
    }
    const q = new URLSearchParams(window.location.search);
    for (const k of Object.keys(DEFAULTS)) {
      if (q.has(k)) cfg[k] = q.get(k);
    }
    const json = (k) => {
      try {
        return JSON.parse(cfg[k]);
      } catch (e) {
        throw new Error(`harness: ${k} is not JSON: ${cfg[k]}`);
      }
    };
    const endpoint = (cfg.endpoint || window.location.origin).replace(/\/+$/, '');
    const size = Number(cfg.size);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error(`harness: bad size ${cfg.size}`);
    return {
      uppy: cfg.uppy,
      mode: cfg.mode,
      endpoint,
      presign: cfg.presign || `${endpoint}/api/v1/presign`,
      presignExtra: json('presignExtra'),
      headers: json('headers'),
      credentials: cfg.credentials,
      size,
      name: cfg.name || `harness-${size}.bin`,
      type: cfg.type,
      profile: cfg.profile,
      metaSize: cfg.metaSize !== '0',
      meta: json('meta'),
      chunk: Number(cfg.chunk),
      autostart: cfg.autostart !== '0',
    };
  }

  // ---- The presign request of PUT mode: adjust HERE when signpost's route takes shape ----

  /** The JSON body POSTed to cfg.presign for one PutObject that Uppy asks to sign. */
  function presignBody(request, file, cfg) {
    const body = {
      method: 'PUT',
      filename: file.name,
      content_type: request.contentType || file.type,
      size: file.size,
    };
    if (file.meta.profile) body.profile = file.meta.profile;
    return { ...body, ...cfg.presignExtra };
  }

  /** What Uppy needs from the presign response: {url, headers?, key?}. */
  function presignResult(json) {
    return { url: json.url, headers: json.headers || undefined, key: json.key || undefined };
  }

  // ---- The file: SIZE bytes, byte i = i % 251 (tests/support/node.rs has the same) -----------

  function fileBytes(size) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = i % 251;
    return bytes;
  }

  // ---- Results ------------------------------------------------------------------------------

  const result = {
    state: 'loading', // loading → ready → uploading → success | error | cancelled
    done: false,
    config: null,
    versions: null,
    file: null,
    progress: { bytesUploaded: 0, bytesTotal: 0, events: 0 },
    parts: [],
    requests: [],
    success: null,
    error: null,
    errors: [],
  };
  window.__uppyResult = result;

  function setState(state, text) {
    result.state = state;
    const status = document.getElementById('status');
    if (status) status.textContent = text || state;
  }

  function fail(err, extra) {
    const e = {
      message: String((err && err.message) || err),
      name: err && err.name,
      status: err && (err.status ?? err.request?.status),
      code: err && (err.serviceCode ?? err.code),
      body: err && (err.body ?? err.request?.responseText),
      ...extra,
    };
    result.errors.push(e);
    result.error = result.error || e;
    return e;
  }

  // ---- A log of the requests the page makes (fetch: Companion/presign; XHR: S3) ------------

  // The configured headers and credentials go on the presign requests, and on the Companion
  // requests of Uppy 6, which has no option for them (Uppy 5 sends its `headers` itself).
  function ownsRequest(url, cfg) {
    if (url.startsWith(cfg.presign)) return true;
    return cfg.uppy !== '5' && url.startsWith(`${cfg.endpoint}/`);
  }

  function instrument(cfg) {
    const realFetch = window.fetch.bind(window);
    window.fetch = async (input, init = {}) => {
      const url = new URL(typeof input === 'string' ? input : input.url, window.location.href).href;
      const entry = { via: 'fetch', method: (init.method || 'GET').toUpperCase(), url, status: null };
      result.requests.push(entry);
      const opts = { ...init };
      if (ownsRequest(url, cfg)) {
        opts.credentials = cfg.credentials;
        if (Object.keys(cfg.headers).length) {
          const headers = new Headers(init.headers || {});
          for (const [k, v] of Object.entries(cfg.headers)) headers.set(k, v);
          opts.headers = headers;
        }
      }
      try {
        const resp = await realFetch(input, opts);
        entry.status = resp.status;
        return resp;
      } catch (err) {
        entry.status = 0;
        entry.error = String(err);
        throw err;
      }
    };
    const open = XMLHttpRequest.prototype.open;
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url, ...rest) {
      this.__harness = {
        via: 'xhr',
        method: String(method).toUpperCase(),
        url: new URL(url, window.location.href).href,
        status: null,
      };
      return open.call(this, method, url, ...rest);
    };
    XMLHttpRequest.prototype.send = function (body) {
      const entry = this.__harness;
      if (entry) {
        entry.bytes = body && (body.size ?? body.byteLength ?? body.length ?? null);
        result.requests.push(entry);
        this.addEventListener('loadend', () => {
          entry.status = this.status;
          if (this.status >= 400) entry.body = String(this.responseText || '').slice(0, 2000);
        });
      }
      return send.call(this, body);
    };
  }

  // ---- Uppy -------------------------------------------------------------------------------

  function loadBundle(cfg) {
    const src = cfg.uppy === '5' ? 'uppy5.js' : 'uppy.js';
    return new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = new URL(src, SCRIPT_SRC).href;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`harness: could not load ${s.src}`));
      document.head.appendChild(s);
    });
  }

  function awsOptions(cfg, getFile) {
    const v5 = cfg.uppy === '5';
    const multipart = cfg.mode === 'multipart';
    const chunk = () => cfg.chunk;
    switch (cfg.mode) {
      case 'post':
      case 'multipart':
        return v5
          ? {
              endpoint: cfg.endpoint,
              headers: cfg.headers,
              cookiesRule: cfg.credentials,
              shouldUseMultipart: multipart,
              getChunkSize: chunk,
            }
          : { companionEndpoint: cfg.endpoint, shouldUseMultipart: multipart, getChunkSize: chunk };
      case 'put': {
        const sign = async (request) => {
          const file = getFile();
          const resp = await window.fetch(cfg.presign, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json' },
            body: JSON.stringify(presignBody(request, file, cfg)),
          });
          const text = await resp.text();
          if (!resp.ok) {
            const err = new Error(`presign answered ${resp.status}: ${text.slice(0, 500)}`);
            err.status = resp.status;
            err.body = text;
            throw err;
          }
          return presignResult(JSON.parse(text));
        };
        if (v5) {
          return {
            shouldUseMultipart: false,
            async getUploadParameters(file) {
              const r = await sign({ method: 'PUT', contentType: file.type });
              return { method: 'PUT', url: r.url, headers: r.headers || {} };
            },
          };
        }
        return {
          shouldUseMultipart: false,
          signRequest(request) {
            if (request.method !== 'PUT' || request.uploadId) {
              throw new Error(`harness PUT mode signs one PutObject, not ${JSON.stringify(request)}`);
            }
            return sign(request);
          },
        };
      }
      default:
        throw new Error(`harness: unknown mode ${cfg.mode} (post, put or multipart)`);
    }
  }

  async function main() {
    const cfg = readConfig();
    result.config = cfg;
    instrument(cfg);
    await loadBundle(cfg);
    const { Uppy, AwsS3 } = window;
    result.versions = { core: Uppy.VERSION, awsS3: AwsS3.VERSION };

    const uppy = new Uppy({ autoProceed: false, allowMultipleUploadBatches: true });
    window.__uppy = uppy;
    let fileId = null;
    uppy.use(AwsS3, { limit: 1, ...awsOptions(cfg, () => uppy.getFile(fileId)) });

    const meta = { ...cfg.meta };
    if (cfg.profile) meta.profile = cfg.profile;
    if (cfg.metaSize) meta.size = cfg.size;
    const data = new Blob([fileBytes(cfg.size)], { type: cfg.type });
    fileId = uppy.addFile({ name: cfg.name, type: cfg.type, data, meta, source: 'harness' });
    const f = uppy.getFile(fileId);
    result.file = { id: f.id, name: f.name, size: f.size, type: f.type, meta: f.meta };

    uppy.on('upload-progress', (_file, p) => {
      result.progress = {
        bytesUploaded: p.bytesUploaded,
        bytesTotal: p.bytesTotal,
        events: result.progress.events + 1,
      };
      setState('uploading', `Uploading: ${p.bytesUploaded} of ${p.bytesTotal} bytes`);
    });
    uppy.on('s3-multipart:part-uploaded', (_file, part) => result.parts.push(part));
    uppy.on('upload-success', (_file, response) => {
      result.success = {
        location: response.uploadURL ?? response.body?.location ?? null,
        key: response.body?.key ?? null,
        status: response.status ?? null,
        body: response.body ?? null,
      };
    });
    uppy.on('upload-error', (_file, err, response) => {
      fail(err, response ? { response: { status: response.status, body: response.body } } : {});
    });
    uppy.on('cancel-all', () => {
      result.done = true;
      setState('cancelled', 'Cancelled');
    });

    window.__uppyStart = async () => {
      setState('uploading', 'Uploading');
      try {
        const out = await uppy.upload();
        if (result.state === 'cancelled') return;
        const ok = out && out.successful && out.successful.length === 1 && !result.error;
        if (!ok && !result.error) fail(new Error(`upload finished without success: ${JSON.stringify(out)}`));
        setState(ok ? 'success' : 'error', ok ? 'Upload complete' : `Upload failed: ${result.error.message}`);
      } catch (err) {
        fail(err);
        setState('error', `Upload failed: ${result.error.message}`);
      }
      result.done = true;
    };
    setState('ready', 'Ready');
    if (cfg.autostart) await window.__uppyStart();
  }

  main().catch((err) => {
    fail(err, { stage: 'setup' });
    setState('error', `Harness failed: ${result.error.message}`);
    result.done = true;
  });
})();
