"""boto3 against `signpost store`, driven by tests/store_clients.rs.

Reads AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
AWS_REGION from the environment (the store's printed export block). Exits
non-zero with the failed step on stderr.
"""

import os
import sys
import urllib.request

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

BUCKET = "boto-bucket"
s3 = boto3.client(
    "s3",
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
)


def error_code(call):
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("expected an error")


def main():
    s3.create_bucket(Bucket=BUCKET)
    assert BUCKET in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=BUCKET)
    assert error_code(lambda: s3.create_bucket(Bucket=BUCKET)) == "BucketAlreadyOwnedByYou"

    rules = [{
        "AllowedOrigins": ["http://app.example"],
        "AllowedMethods": ["POST", "PUT"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 600,
    }]
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})
    got = s3.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["http://app.example"], got
    assert got[0]["ExposeHeaders"] == ["ETag"], got

    # Multipart through the transfer manager (5 MiB parts).
    data = os.urandom(12 * 1024 * 1024)
    path = os.path.join(os.environ["WORK_DIR"], "in.bin")
    with open(path, "wb") as f:
        f.write(data)
    cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_file(path, BUCKET, "docs/a/big.bin", Config=cfg)
    assert s3.head_object(Bucket=BUCKET, Key="docs/a/big.bin")["ContentLength"] == len(data)

    for key in ["docs/b.txt", "docs/c.txt", "docs/a/d.txt", "other.txt"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode(), ContentType="text/plain")
    s3.copy_object(Bucket=BUCKET, Key="docs/copy.txt", CopySource={"Bucket": BUCKET, "Key": "docs/b.txt"})
    assert s3.get_object(Bucket=BUCKET, Key="docs/copy.txt")["Body"].read() == b"docs/b.txt"

    # ListObjectsV2: prefix + delimiter, then pagination two keys at a time.
    page = s3.list_objects_v2(Bucket=BUCKET, Prefix="docs/", Delimiter="/")
    assert [p["Prefix"] for p in page.get("CommonPrefixes", [])] == ["docs/a/"], page
    assert [o["Key"] for o in page["Contents"]] == ["docs/b.txt", "docs/c.txt", "docs/copy.txt"], page
    keys, token = [], None
    while True:
        kw = {"Bucket": BUCKET, "MaxKeys": 2}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert keys == sorted(keys) and len(keys) == 6, keys

    # Multipart by hand: ListParts and ListMultipartUploads, then abort.
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="docs/partial.bin")
    s3.upload_part(Bucket=BUCKET, Key="docs/partial.bin", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 1024)
    parts = s3.list_parts(Bucket=BUCKET, Key="docs/partial.bin", UploadId=up["UploadId"])["Parts"]
    assert [p["PartNumber"] for p in parts] == [1], parts
    uploads = s3.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("docs/partial.bin", up["UploadId"])], uploads
    s3.abort_multipart_upload(Bucket=BUCKET, Key="docs/partial.bin", UploadId=up["UploadId"])
    assert not s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads"), "abort left the upload listed"

    # Presigned GET and PUT.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "docs/a/big.bin"}, ExpiresIn=300)
    assert urllib.request.urlopen(url).read() == data
    put = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "put.txt"}, ExpiresIn=300)
    urllib.request.urlopen(urllib.request.Request(put, data=b"presigned put", method="PUT"))
    assert s3.get_object(Bucket=BUCKET, Key="put.txt")["Body"].read() == b"presigned put"

    assert error_code(lambda: s3.delete_bucket(Bucket=BUCKET)) == "BucketNotEmpty"
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})
    s3.delete_bucket_cors(Bucket=BUCKET)
    assert error_code(lambda: s3.get_bucket_cors(Bucket=BUCKET)) == "NoSuchCORSConfiguration"
    s3.delete_bucket(Bucket=BUCKET)
    assert error_code(lambda: s3.head_bucket(Bucket=BUCKET)) in ("404", "NoSuchBucket")
    print("boto3: all steps passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report the failing step, then fail
        import traceback
        traceback.print_exc()
        sys.exit(f"boto3 against signpost store failed: {e!r}")
