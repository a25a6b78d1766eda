"""boto3's side of bench/peers.sh: generate_presigned_post on the policy of bench/avatar.rs.

Prints `RESULT boto3 <us/op> <ops>` and one `POLICY <base64>` line, like examples/sign_loop.rs.
botocore derives the SigV4 signing key on every call (it has no key cache).
"""

import sys
import time

import boto3
from botocore.config import Config

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
BUCKET = "signpost-bench-uploads"
KEY = "users/42/${filename}"
MAX_SIZE = 5 << 20
REDIRECT = "https://app.example.com/uploads/done"
EXPIRES_IN = 600


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    s3 = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(signature_version="s3v4"),
    )

    def once():
        return s3.generate_presigned_post(
            BUCKET,
            KEY,
            Fields={"success_action_redirect": REDIRECT},
            Conditions=[
                ["content-length-range", 1, MAX_SIZE],
                ["starts-with", "$Content-Type", "image/"],
                {"success_action_redirect": REDIRECT},
            ],
            ExpiresIn=EXPIRES_IN,
        )

    form = once()
    warm = time.perf_counter()
    while time.perf_counter() - warm < seconds / 10:
        once()
    n = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            once()
        n += 100
    us = (time.perf_counter() - start) * 1e6 / n
    print(f"RESULT boto3 {us:.3f} {n}")
    print(f"POLICY {form['fields']['policy']}")


if __name__ == "__main__":
    main()
