"""Ceph s3-tests' POST object cases, ported to SigV4, run against one store.

Ported from ceph/s3-tests `s3tests_boto3/functional/test_s3.py`
(`test_post_object_*`): the cases that need no public bucket and no SigV2.
Each form is signed with SigV4 instead of SigV2 (so its policy also holds the
`x-amz-algorithm`, `x-amz-credential` and `x-amz-date` conditions AWS
requires); everything else is as upstream. Prints one JSON line per case:
{"case", "expected", "status", "code", "check"}; tests/post_object_compat.rs
compares the lines from Ceph and from `signpost store`.

Env: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION.
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import uuid

import boto3
import urllib3
from botocore.config import Config

ENDPOINT = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
ACCESS = os.environ["AWS_ACCESS_KEY_ID"]
SECRET = os.environ["AWS_SECRET_ACCESS_KEY"]
REGION = os.environ["AWS_REGION"]
s3 = boto3.client("s3", endpoint_url=ENDPOINT, config=Config(s3={"addressing_style": "path"}))
http = urllib3.PoolManager()
CASES = []


def case(expected):
    def register(fn):
        CASES.append((fn.__name__, expected, fn))
        return fn
    return register


def new_bucket():
    name = "s3t-" + uuid.uuid4().hex[:20]
    s3.create_bucket(Bucket=name)
    return name


def expires(seconds=6000):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(doc, access=ACCESS, secret=SECRET, conditions_key="conditions", amz=True):
    """SigV4 form fields for policy `doc` (its conditions get the x-amz-* ones)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    day, stamp = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{access}/{day}/{REGION}/s3/aws4_request"
    amz_fields = [("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential), ("x-amz-date", stamp)]
    if amz and isinstance(doc.get(conditions_key), list):
        doc = dict(doc)
        doc[conditions_key] = doc[conditions_key] + [{k: v} for k, v in amz_fields]
    policy = base64.b64encode(json.dumps(doc).encode()).decode()
    key = ("AWS4" + secret).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, policy.encode(), hashlib.sha256).hexdigest()
    return amz_fields + [("policy", policy), ("x-amz-signature", signature)]


def standard(bucket, key_prefix="foo", max_size=1024, extra=()):
    return [{"bucket": bucket}, ["starts-with", "$key", key_prefix], {"acl": "private"},
            ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, max_size], *extra]


def post(bucket, fields, data=b"bar", filename="file"):
    body = list(fields) + [("file", (filename, data))]
    r = http.request("POST", f"{ENDPOINT}/{bucket}", fields=body, redirect=False)
    m = re.search(rb"<Code>([^<]*)</Code>", r.data or b"")
    return r, (m.group(1).decode() if m else None)


def read(bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


@case(204)
def authenticated_request():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b)})
    r, code = post(b, f + [("Content-Type", "text/plain")])
    return r, code, r.status == 204 and read(b, "foo.txt") == b"bar"


@case(204)
def authenticated_no_content_type():
    b = new_bucket()
    conds = [{"bucket": b}, ["starts-with", "$key", "foo"], {"acl": "private"}, ["content-length-range", 0, 1024]]
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    r, code = post(b, f)
    return r, code, r.status == 204 and read(b, "foo.txt") == b"bar"


@case(403)
def authenticated_request_bad_access_key():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b)}, access="foo")
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(201)
def authenticated_set_success_code():
    b = new_bucket()
    conds = standard(b, extra=[{"success_action_status": "201"}])
    f = [("key", "foo.txt"), ("acl", "private"), ("success_action_status", "201")]
    r, code = post(b, f + sign({"expiration": expires(), "conditions": conds}) + [("Content-Type", "text/plain")])
    return r, code, b"<Key>foo.txt</Key>" in r.data


@case(204)
def authenticated_set_invalid_success_code():
    b = new_bucket()
    conds = standard(b, extra=[{"success_action_status": "404"}])
    f = [("key", "foo.txt"), ("acl", "private"), ("success_action_status", "404")]
    r, code = post(b, f + sign({"expiration": expires(), "conditions": conds}) + [("Content-Type", "text/plain")])
    return r, code, r.data == b""


@case(204)
def upload_larger_than_chunk():
    b = new_bucket()
    data = b"foo" * 1024 * 1024
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b, max_size=5 << 20)})
    r, code = post(b, f + [("Content-Type", "text/plain")], data)
    return r, code, r.status == 204 and read(b, "foo.txt") == data


@case(204)
def set_key_from_filename():
    b = new_bucket()
    f = [("key", "${filename}"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b)})
    r, code = post(b, f + [("Content-Type", "text/plain")], b"bar", "foo.txt")
    return r, code, r.status == 204 and read(b, "foo.txt") == b"bar"


@case(204)
def ignored_header():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b)})
    return (*post(b, f + [("Content-Type", "text/plain"), ("x-ignore-foo", "bar")]), None)


@case(204)
def case_insensitive_condition_fields():
    b = new_bucket()
    conds = [{"bUcKeT": b}, ["StArTs-WiTh", "$KeY", "foo"], {"AcL": "private"},
             ["StArTs-WiTh", "$CoNtEnT-TyPe", "text/plain"], ["content-length-range", 0, 1024]]
    signed = [("pOLICy" if n == "policy" else n, v) for n, v in sign({"expiration": expires(), "conditions": conds})]
    f = [("kEy", "foo.txt"), ("aCl", "private")] + signed
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(204)
def escaped_field_values():
    b = new_bucket()
    f = [("key", r"\$foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b, key_prefix=r"\$foo")})
    r, code = post(b, f + [("Content-Type", "text/plain")])
    return r, code, r.status == 204 and read(b, r"\$foo.txt") == b"bar"


@case(303)
def success_redirect_action():
    b = new_bucket()
    target = f"{ENDPOINT}/{b}"
    conds = standard(b, extra=[["eq", "$success_action_redirect", target]])
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    r, code = post(b, f + [("Content-Type", "text/plain"), ("success_action_redirect", target)])
    ok = None
    if r.status == 303:
        etag = s3.head_object(Bucket=b, Key="foo.txt")["ETag"].strip('"')
        ok = r.headers.get("Location") == f"{target}?bucket={b}&key=foo.txt&etag=%22{etag}%22"
    return r, code, ok


def signed_standard_variant(bucket, mutate):
    f = [("key", r"\$foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(bucket, key_prefix=r"\$foo")})
    return [mutate(n, v) for n, v in f] + [("Content-Type", "text/plain")]


@case(403)
def invalid_signature():
    b = new_bucket()
    f = signed_standard_variant(b, lambda n, v: (n, v[::-1]) if n == "x-amz-signature" else (n, v))
    return (*post(b, f), None)


@case(403)
def invalid_access_key():
    b = new_bucket()
    f = signed_standard_variant(b, lambda n, v: (n, v.replace(ACCESS, ACCESS[::-1])) if n == "x-amz-credential" else (n, v))
    return (*post(b, f), None)


@case(400)
def invalid_date_format():
    b = new_bucket()
    when = str(datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=6000))
    f = [("key", r"\$foo.txt"), ("acl", "private")] + sign({"expiration": when, "conditions": standard(b, key_prefix=r"\$foo")})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(400)
def no_key_specified():
    b = new_bucket()
    conds = [{"bucket": b}, {"acl": "private"}, ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, 1024]]
    f = [("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(400)
def missing_signature():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b, key_prefix=r"\$foo")})
    return (*post(b, [x for x in f if x[0] != "x-amz-signature"] + [("Content-Type", "text/plain")]), None)


@case(403)
def missing_policy_condition():
    b = new_bucket()
    conds = [["starts-with", "$key", r"\$foo"], {"acl": "private"}, ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, 1024]]
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(204)
def user_specified_header():
    b = new_bucket()
    conds = standard(b, extra=[["starts-with", "$x-amz-meta-foo", "bar"]])
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    r, code = post(b, f + [("Content-Type", "text/plain"), ("x-amz-meta-foo", "barclamp")])
    ok = r.status == 204 and s3.get_object(Bucket=b, Key="foo.txt")["Metadata"].get("foo") == "barclamp"
    return r, code, ok


@case(403)
def request_missing_policy_specified_field():
    b = new_bucket()
    conds = standard(b, extra=[["starts-with", "$x-amz-meta-foo", "bar"]])
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(400)
def condition_is_case_sensitive():
    b = new_bucket()
    doc = {"expiration": expires(), "CONDITIONS": standard(b)}
    f = [("key", "foo.txt"), ("acl", "private")] + sign(doc, conditions_key="CONDITIONS")
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(400)
def expires_is_case_sensitive():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"EXPIRATION": expires(), "conditions": standard(b)})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(403)
def expired_policy():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(-6000), "conditions": standard(b)})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(403)
def wrong_bucket():
    b = new_bucket()
    other = new_bucket()
    f = [("key", "${filename}"), ("bucket", b), ("acl", "private")] + sign({"expiration": expires(), "conditions": standard(b)})
    return (*post(other, f + [("Content-Type", "text/plain")], b"bar", "foo.txt"), None)


@case(403)
def invalid_request_field_value():
    b = new_bucket()
    conds = standard(b, extra=[["eq", "$x-amz-meta-foo", ""]])
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain"), ("x-amz-meta-foo", "barclamp")]), None)


@case(400)
def missing_expires_condition():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"conditions": standard(b)})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


@case(400)
def missing_conditions_list():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires()})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


def size_case(rng, data=b"bar"):
    b = new_bucket()
    conds = [{"bucket": b}, ["starts-with", "$key", "foo"], {"acl": "private"}, ["starts-with", "$Content-Type", "text/plain"], rng]
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain")], data), None)


@case(400)
def upload_size_limit_exceeded():
    return size_case(["content-length-range", 0, 0])


@case(400)
def missing_content_length_argument():
    return size_case(["content-length-range", 0])


@case(400)
def invalid_content_length_argument():
    return size_case(["content-length-range", -1, 0])


@case(400)
def upload_size_below_minimum():
    return size_case(["content-length-range", 512, 1000])


@case(204)
def upload_size_rgw_chunk_size_bug():
    chunk = 4 << 20
    return size_case(["content-length-range", chunk, chunk * 3], b"x" * (chunk + 200))


@case(400)
def empty_conditions():
    b = new_bucket()
    f = [("key", "foo.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": [{}]})
    return (*post(b, f + [("Content-Type", "text/plain")]), None)


def checksum_case(checksum):
    b = new_bucket()
    conds = [{"bucket": b}, ["starts-with", "$key", "foo_cksum_test"], {"acl": "private"},
             ["starts-with", "$Content-Type", "text/plain"], ["content-length-range", 0, 5 << 20],
             # SigV4: every field must have a condition (upstream's SigV2 form had none for it).
             ["starts-with", "$x-amz-checksum-sha256", ""]]
    f = [("key", "foo_cksum_test.txt"), ("acl", "private")] + sign({"expiration": expires(), "conditions": conds})
    return (*post(b, f + [("Content-Type", "text/plain"), ("x-amz-checksum-sha256", checksum)], b"x" * (2 << 20)), None)


@case(204)
def upload_checksum_good():
    return checksum_case("aTL9MeXa9HObn6eP93eygxsJlcwdCwCTysgGAZAgE7w=")


@case(400)
def upload_checksum_bad():
    return checksum_case("sailorjerry")


if __name__ == "__main__":
    for name, expected, fn in CASES:
        try:
            r, code, check = fn()
            line = {"case": name, "expected": expected, "status": r.status, "code": code, "check": check}
        except Exception as e:  # a client-side failure is a result too, reported as such
            line = {"case": name, "expected": expected, "status": None, "code": None, "check": None, "error": repr(e)}
        print(json.dumps(line), flush=True)
