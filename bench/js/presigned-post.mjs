// aws-sdk-js v3's side of bench/peers.sh: createPresignedPost on the policy of bench/avatar.rs.
// Prints `RESULT aws-sdk-js-v3 <us/op> <ops>` and one `POLICY <base64>` line, like
// examples/sign_loop.rs. @smithy/signature-v4 caches the signing key (keyed by an HMAC of the
// credentials), so this is its warm path.
import { S3Client } from "@aws-sdk/client-s3";
import { createPresignedPost } from "@aws-sdk/s3-presigned-post";

const REGION = "eu-west-1";
const BUCKET = "signpost-bench-uploads";
const KEY = "users/42/${filename}";
const MAX_SIZE = 5 << 20;
const REDIRECT = "https://app.example.com/uploads/done";
const EXPIRES_IN = 600;

const seconds = Number(process.argv[2] ?? 3);
const client = new S3Client({
  region: REGION,
  credentials: {
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  },
});

const once = () =>
  createPresignedPost(client, {
    Bucket: BUCKET,
    Key: KEY,
    Fields: { success_action_redirect: REDIRECT },
    Conditions: [
      ["content-length-range", 1, MAX_SIZE],
      ["starts-with", "$Content-Type", "image/"],
      { success_action_redirect: REDIRECT },
    ],
    Expires: EXPIRES_IN,
  });

const form = await once();
const now = () => Number(process.hrtime.bigint()) / 1e9;
const warm = now();
while (now() - warm < seconds / 10) await once();
let n = 0;
const start = now();
while (now() - start < seconds) {
  for (let i = 0; i < 100; i++) await once();
  n += 100;
}
const us = ((now() - start) * 1e6) / n;
console.log(`RESULT aws-sdk-js-v3 ${us.toFixed(3)} ${n}`);
console.log(`POLICY ${form.fields.Policy}`);
