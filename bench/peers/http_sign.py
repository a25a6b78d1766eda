"""The signing half of the Python peers of bench/http-peers.sh (FastAPI and Flask), the same
work as signpost's `POST /api/v1/sign/avatar` for the bench config: check the declared file
(PNG, JPEG, GIF or WebP, 1 byte to 5 MiB), make the key `users/42/<uuid>/<filename>`, and sign
a form with boto3's generate_presigned_post for exactly that key, a content-length-range of
1 byte to 5 MiB, that Content-Type and success_action_status 201, valid 600 s, with the fixed
example credentials.
"""

import uuid

import boto3
from botocore.config import Config

ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "eu-west-1"
BUCKET = "signpost-bench-uploads"
KEY_PREFIX = "users/42/"
MAX_SIZE = 5 << 20
TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
EXPIRES_IN = 600

# One client for the process, made at start (as an app would).
s3 = boto3.client(
    "s3",
    region_name=REGION,
    aws_access_key_id=ACCESS_KEY_ID,
    aws_secret_access_key=SECRET_ACCESS_KEY,
    config=Config(signature_version="s3v4"),
)


class Refused(ValueError):
    """The declared file does not fit the profile: a 400."""


def sign(body):
    """The answer to a `{filename, content_type, size}` body, or Refused."""
    if not isinstance(body, dict):
        raise Refused("send {filename, content_type, size}")
    filename = body.get("filename")
    content_type = body.get("content_type")
    size = body.get("size")
    if not isinstance(filename, str) or not filename.strip() or "/" in filename:
        raise Refused("filename is empty or has a slash")
    if not isinstance(content_type, str) or content_type.strip().lower() not in TYPES:
        raise Refused("content_type must be image/png, image/jpeg, image/gif or image/webp")
    if not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
        raise Refused("size must be 1 byte to 5 MiB")
    content_type = content_type.strip().lower()
    key = f"{KEY_PREFIX}{uuid.uuid4()}/{filename}"
    post = s3.generate_presigned_post(
        BUCKET,
        key,
        Fields={"Content-Type": content_type, "success_action_status": "201"},
        Conditions=[
            ["content-length-range", 1, MAX_SIZE],
            {"Content-Type": content_type},
            {"success_action_status": "201"},
        ],
        ExpiresIn=EXPIRES_IN,
    )
    return {"method": "POST", "url": post["url"], "fields": post["fields"], "key": key}
