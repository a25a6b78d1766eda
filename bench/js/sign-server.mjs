// node:http + aws-sdk-js v3 peer of bench/http-peers.sh: `POST /api/v1/sign/avatar` and
// `GET /healthz` on 127.0.0.1:PORT (argv[2]), one process. The same work as signpost's sign
// route for the bench config: check the declared file (PNG, JPEG, GIF or WebP, 1 byte to
// 5 MiB), make the key `users/42/<uuid>/<filename>`, and createPresignedPost for that key with
// a content-length-range of 1 byte to 5 MiB, that Content-Type and success_action_status 201
// (Fields become conditions), valid 600 s, with the fixed example credentials.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

const BUCKET = "signpost-bench-uploads";
const KEY_PREFIX = "users/42/";
const MAX_SIZE = 5 << 20;
const TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const EXPIRES_IN = 600;

const client = new S3Client({
  region: "eu-west-1",
  credentials: {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  },
});

const json = (res, status, value) => {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
};

async function sign(body) {
  const { filename, content_type: type, size } = body ?? {};
  if (typeof filename !== "string" || !filename.trim() || filename.includes("/"))
    throw new RangeError("filename is empty or has a slash");
  if (typeof type !== "string" || !TYPES.has(type.trim().toLowerCase()))
    throw new RangeError("content_type must be image/png, image/jpeg, image/gif or image/webp");
  if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE)
    throw new RangeError("size must be 1 byte to 5 MiB");
  const contentType = type.trim().toLowerCase();
  const key = `${KEY_PREFIX}${randomUUID()}/${filename}`;
  const post = await createPresignedPost(client, {
    Bucket: BUCKET,
    Key: key,
    Fields: { "Content-Type": contentType, success_action_status: "201" },
    Conditions: [["content-length-range", 1, MAX_SIZE]],
    Expires: EXPIRES_IN,
  });
  return { method: "POST", url: post.url, fields: post.fields, key };
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") return json(res, 200, { status: "ok" });
  if (req.method !== "POST" || req.url !== "/api/v1/sign/avatar")
    return json(res, 404, { error: "not_found" });
  const chunks = [];
  let size = 0;
  req.on("data", (c) => {
    size += c.length;
    if (size > 64 * 1024) req.destroy();
    else chunks.push(c);
  });
  req.on("end", async () => {
    try {
      json(res, 200, await sign(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
    } catch (e) {
      if (e instanceof RangeError || e instanceof SyntaxError)
        json(res, 400, { error: "bad_request", message: e.message });
      else json(res, 500, { error: "internal", message: String(e) });
    }
  });
});
server.listen(Number(process.argv[2]), "127.0.0.1");
