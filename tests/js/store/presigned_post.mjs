// aws-sdk-js v3 against `signpost store`, driven by tests/store_clients.rs.
// Env: the store's export block (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION) and BUCKET (which exists).
// Prints one JSON line per case: {"case", "status", "code"}; the Rust test judges.
import { S3Client, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

const bucket = process.env.BUCKET;
const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION,
  forcePathStyle: true,
});

function report(name, status, text) {
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? null;
  console.log(JSON.stringify({ case: name, status, code }));
}

async function post(name, presigned, body, filename = "a.txt", edit = (f) => f) {
  const form = new FormData();
  for (const [k, v] of Object.entries(edit({ ...presigned.fields }))) form.append(k, v);
  form.append("file", new Blob([body]), filename);
  try {
    const resp = await fetch(presigned.url, { method: "POST", body: form });
    report(name, resp.status, await resp.text());
  } catch (e) {
    // EPIPE/ECONNRESET land here: the status never reached the client.
    console.log(JSON.stringify({ case: name, status: null, code: null, error: String(e.cause ?? e) }));
  }
}

const presigned = await createPresignedPost(client, {
  Bucket: bucket,
  Key: "js/${filename}",
  Conditions: [["content-length-range", 1, 1024 * 1024], ["starts-with", "$Content-Type", "text/"]],
  Fields: { "Content-Type": "text/plain" },
  Expires: 600,
});

await post("valid", presigned, "hello from aws-sdk-js");
await post("too-large", presigned, new Uint8Array(1024 * 1024 + 1));
await post("wrong-content-type", presigned, "x", "a.txt", (f) => ({ ...f, "Content-Type": "image/png" }));
// A forged signature with a body big enough that the client is still sending when refused.
await post("forged", presigned, new Uint8Array(8 * 1024 * 1024), "forged.bin", (f) => ({
  ...f,
  "X-Amz-Signature": "0".repeat(64),
}));

await client.send(new PutObjectCommand({ Bucket: bucket, Key: "js/put.txt", Body: "put by sdk" }));
const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "js/a.txt" }));
console.log(JSON.stringify({
  case: "read-back",
  status: got.$metadata.httpStatusCode,
  body: await got.Body.transformToString(),
}));
