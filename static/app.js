// signpost upload page: drag-and-drop, checks before any byte is sent, one freshly signed
// form per file from the JSON API (files above the page's multipart threshold go in parts),
// XHR uploads with progress and cancel, then /uploaded.
// Without JavaScript the plain form posts to S3 and S3 redirects back.
"use strict";

(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  document.documentElement.classList.add("js");

  const input = document.getElementById("file");
  const drop = document.getElementById("drop");
  const message = document.getElementById("message");
  const list = document.getElementById("progress");
  const submit = document.getElementById("submit");
  const types = (form.dataset.types || "").split(",").filter(Boolean);
  const multiple = form.dataset.multiple === "true";
  if (multiple) {
    // With JavaScript each file gets its own form, so several can go at once.
    input.multiple = true;
    const label = document.getElementById("choose-label");
    if (label) label.textContent = "Choose files";
  }

  function formatSize(bytes) {
    const units = [[1024 ** 4, "TiB"], [1024 ** 3, "GiB"], [1024 ** 2, "MiB"], [1024, "KiB"]];
    for (const [size, name] of units) {
      if (bytes >= size) {
        return bytes % size === 0 ? `${bytes / size} ${name}` : `${(bytes / size).toFixed(1)} ${name}`;
      }
    }
    return bytes === 1 ? "1 byte" : `${bytes} bytes`;
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = "message " + (kind || "error");
    message.hidden = !text;
  }

  function typeAllowed(type) {
    if (types.length === 0) return true;
    return types.includes((type || "").toLowerCase());
  }

  function allowedWords() {
    return form.dataset.typesWords || types.join(", ");
  }

  // The checks S3 would make, done before any request leaves the page.
  // The limits are read from the form each time, so the page always checks what it shows.
  function check(file) {
    const minSize = Number(form.dataset.minSize || 0);
    const maxSize = Number(form.dataset.maxSize || 0);
    if (maxSize && file.size > maxSize) {
      return `“${file.name}” is ${formatSize(file.size)}; the limit is ${formatSize(maxSize)}.`;
    }
    if (file.size < minSize) {
      return `“${file.name}” is ${formatSize(file.size)}; it must be at least ${formatSize(minSize)}.`;
    }
    if (!typeAllowed(file.type)) {
      return `“${file.name}” is of type ${file.type || "unknown"}; accepted: ${allowedWords()}.`;
    }
    return null;
  }

  async function explain(xhr) {
    const text = xhr.responseText || "";
    try {
      const r = await fetch("/api/v1/s3-error?profile=" + encodeURIComponent(form.dataset.profile || ""), { method: "POST", body: text, headers: { "Content-Type": "text/plain" } });
      const j = await r.json();
      return j.message;
    } catch (e) {
      return `The storage refused the upload (HTTP ${xhr.status}).`;
    }
  }

  function row(file) {
    const li = document.createElement("li");
    li.className = "item";
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    // The bar's accessible name is the file's: "Uploading avatar.png".
    bar.setAttribute("aria-label", "Uploading " + file.name);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = "0%";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "cancel";
    cancel.textContent = "Cancel";
    cancel.setAttribute("aria-label", "Cancel uploading " + file.name);
    const status = document.createElement("span");
    status.className = "status";
    li.append(name, bar, pct, cancel, status);
    list.append(li);
    return { li, bar, pct, cancel, status };
  }

  // Files above the threshold go in parts (S3 multipart, through signpost's Companion routes):
  // several parts at once, each retried on its own, one progress bar, cancel aborts the upload.
  const threshold = Number(form.dataset.multipartThreshold || 0);
  const MiB = 1024 * 1024;
  const PARALLEL = 4;
  const RETRIES = 3;

  async function api(method, url, body) {
    const opts = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(url, opts);
    } catch (e) {
      throw new Error("Could not reach this server; check your connection and try again.");
    }
    const j = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(j.message || `The server refused the upload (HTTP ${r.status}).`);
    return j;
  }

  function putPart(url, blob, onProgress, state) {
    return new Promise((resolve, reject) => {
      if (state.cancelled) {
        reject(new Error("cancelled"));
        return;
      }
      const xhr = new XMLHttpRequest();
      state.xhrs.add(xhr);
      xhr.open("PUT", url);
      xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded));
      xhr.addEventListener("loadend", () => state.xhrs.delete(xhr));
      xhr.addEventListener("load", async () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          const etag = xhr.getResponseHeader("ETag");
          if (etag) resolve(etag);
          else reject(new Error("The storage did not show the part's ETag: its CORS settings must expose the ETag header."));
        } else {
          const e = new Error(await explain(xhr));
          e.status = xhr.status;
          reject(e);
        }
      });
      xhr.addEventListener("error", () => reject(new Error("A part could not reach the storage.")));
      xhr.addEventListener("abort", () => reject(new Error("cancelled")));
      xhr.send(blob);
    });
  }

  async function uploadInParts(file, ui) {
    const state = { cancelled: false, xhrs: new Set(), upload: null };
    ui.cancel.addEventListener("click", () => {
      state.cancelled = true;
      for (const x of state.xhrs) x.abort();
    });
    const cancelled = () => new Error(`Upload of “${file.name}” was cancelled.`);
    const started = await api("POST", "/s3/multipart", {
      filename: file.name,
      type: file.type,
      metadata: { profile: form.dataset.profile, size: file.size },
    });
    const base = `/s3/multipart/${encodeURIComponent(started.uploadId)}`;
    const keyQuery = "key=" + encodeURIComponent(started.key);
    const abort = () => api("DELETE", `${base}?${keyQuery}`).catch(() => {});
    if (state.cancelled) {
      await abort();
      throw cancelled();
    }
    // The server signs each part's exact length for this part size (Uppy's default).
    const partSize = Math.max(5 * MiB, Math.ceil(file.size / 10000));
    const count = Math.max(1, Math.ceil(file.size / partSize));
    ui.li.dataset.parts = String(count);
    ui.status.textContent = `Uploading in ${count} parts`;
    const loaded = new Array(count).fill(0);
    const show = () => {
      const sum = loaded.reduce((a, b) => a + b, 0);
      const p = Math.min(100, Math.floor((sum / Math.max(1, file.size)) * 100));
      ui.bar.value = p;
      ui.pct.textContent = p + "%";
    };
    const etags = new Array(count);
    let next = 0;
    async function worker() {
      while (next < count && !state.cancelled) {
        const i = next++;
        const blob = file.slice(i * partSize, Math.min(file.size, (i + 1) * partSize));
        for (let attempt = 1; ; attempt++) {
          try {
            const { url } = await api("GET", `${base}/${i + 1}?${keyQuery}`);
            etags[i] = await putPart(url, blob, (n) => { loaded[i] = n; show(); }, state);
            loaded[i] = blob.size;
            show();
            break;
          } catch (e) {
            loaded[i] = 0;
            show();
            if (state.cancelled) return;
            if (attempt >= RETRIES) throw e;
            await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
          }
        }
      }
    }
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL, count) }, worker));
    } catch (e) {
      state.cancelled = true;
      for (const x of state.xhrs) x.abort();
      await abort();
      throw e;
    }
    if (state.cancelled) {
      await abort();
      throw cancelled();
    }
    const parts = etags.map((ETag, i) => ({ PartNumber: i + 1, ETag }));
    const done = await api("POST", `${base}/complete?${keyQuery}`, { parts });
    ui.bar.value = 100;
    ui.pct.textContent = "100%";
    ui.status.textContent = "Uploaded";
    ui.cancel.disabled = true;
    return { key: done.key, uploaded_url: done.uploaded_url };
  }

  function uploadOne(file, ui) {
    if (threshold && file.size > threshold) return uploadInParts(file, ui);
    return new Promise(async (resolve, reject) => {
      let signed;
      try {
        const r = await fetch(form.dataset.signUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ filename: file.name, content_type: file.type, size: file.size }),
        });
        const j = await r.json().catch(() => ({}));
        if (!r.ok) {
          reject(new Error(j.message || `The server refused to sign the upload (HTTP ${r.status}).`));
          return;
        }
        signed = j;
      } catch (e) {
        reject(new Error("Could not reach this server to sign the upload; check your connection and try again."));
        return;
      }
      const data = new FormData();
      for (const [k, v] of Object.entries(signed.fields)) data.append(k, v);
      data.append("file", file); // file last, as S3 requires
      const xhr = new XMLHttpRequest();
      xhr.open("POST", signed.url);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          const p = Math.floor((e.loaded / e.total) * 100);
          ui.bar.value = p;
          ui.pct.textContent = p + "%";
        }
      });
      ui.cancel.addEventListener("click", () => xhr.abort());
      xhr.addEventListener("load", async () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          ui.bar.value = 100;
          ui.pct.textContent = "100%";
          ui.status.textContent = "Uploaded";
          ui.cancel.disabled = true;
          resolve(signed);
        } else {
          reject(new Error(await explain(xhr)));
        }
      });
      xhr.addEventListener("error", () => {
        const origin = new URL(signed.url).origin;
        reject(new Error(
          `The upload could not reach the storage at ${origin}. Its CORS settings probably do not allow this site (${location.origin}): ask the operator to allow POST from ${location.origin} on the bucket.`
        ));
      });
      xhr.addEventListener("abort", () => reject(new Error(`Upload of “${file.name}” was cancelled.`)));
      xhr.send(data);
    });
  }

  async function start(files) {
    say("");
    list.textContent = "";
    if (files.length === 0) return;
    if (!multiple && files.length > 1) {
      say("Choose one file: this upload takes a single file.");
      return;
    }
    for (const f of files) {
      const problem = check(f);
      if (problem) {
        say(problem);
        return;
      }
    }
    submit.disabled = true;
    const rows = files.map(row);
    const results = await Promise.allSettled(files.map((f, i) => uploadOne(f, rows[i])));
    submit.disabled = false;
    const failed = results.map((r, i) => [r, rows[i]]).filter(([r]) => r.status === "rejected");
    for (const [r, ui] of failed) {
      ui.status.textContent = "Failed";
      ui.li.classList.add("failed");
      ui.cancel.disabled = true;
    }
    if (failed.length > 0) {
      say(failed.map(([r]) => r.reason.message).join(" "));
      return;
    }
    const done = results.map((r) => r.value);
    const query = done.map((s) => "key=" + encodeURIComponent(s.key)).join("&");
    say("Uploaded. Checking the files…", "ok");
    location.assign(done[0].uploaded_url + "?" + query);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    start(Array.from(input.files));
  });
  input.addEventListener("change", () => start(Array.from(input.files)));
  ["dragenter", "dragover"].forEach((t) =>
    drop.addEventListener(t, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    })
  );
  ["dragleave", "drop"].forEach((t) => drop.addEventListener(t, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    start(Array.from(e.dataTransfer.files));
  });
})();
