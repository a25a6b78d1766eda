"""Checks that every server of bench/http-peers.sh signed the same conditions.

Usage: http_policies.py REFERENCE.json OTHER.json ... — each file is one server's JSON answer
(`{url, fields, ...}`), named `<server>-<route>.json`. The form's policy is taken from its
`Policy` field (any case), decoded, and reduced to a set of conditions that is the same for
two forms that allow the same uploads:

- condition names are lowercased (S3 compares form field names case-insensitively) and
  `["eq", "$name", value]` is written as `{name: value}`;
- the key must be `users/42/<uuid>/me.png` (each server picks its own uuid), the credential
  `AKIAIOSFODNN7EXAMPLE/<yyyymmdd>/eu-west-1/s3/aws4_request` and the date
  `<yyyymmdd>T<hhmmss>Z`: those three become placeholders;
- the form must expire 600 s after its `x-amz-date`.

Prints each server's condition count and exits 1, naming the differences, if any set differs
from the first file's.
"""

import base64
import datetime as dt
import json
import os
import re
import sys

KEY = re.compile(r"^users/42/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/me\.png$")
CREDENTIAL = re.compile(r"^AKIAIOSFODNN7EXAMPLE/\d{8}/eu-west-1/s3/aws4_request$")
DATE = re.compile(r"^\d{8}T\d{6}Z$")
LIFETIME = 600


class Mismatch(Exception):
    pass


def policy_of(path):
    with open(path, encoding="utf-8") as f:
        answer = json.load(f)
    fields = {k.lower(): v for k, v in answer.get("fields", {}).items()}
    if "policy" not in fields:
        raise Mismatch(f"{path}: no Policy field in the answer")
    return json.loads(base64.b64decode(fields["policy"]))


def normalized(doc):
    """The condition set (as sorted JSON strings) and the seconds from x-amz-date to expiry."""
    conds = set()
    date = None
    for c in doc["conditions"]:
        if isinstance(c, list) and len(c) == 3 and str(c[0]).lower() == "eq":
            c = {str(c[1]).lstrip("$"): c[2]}
        if isinstance(c, dict):
            if len(c) != 1:
                raise Mismatch(f"a condition with {len(c)} entries: {c}")
            ((name, value),) = c.items()
            name = name.lower()
            if name == "key":
                if not KEY.match(value):
                    raise Mismatch(f"key {value!r} is not users/42/<uuid>/me.png")
                value = "users/42/<uuid>/me.png"
            elif name == "x-amz-credential":
                if not CREDENTIAL.match(value):
                    raise Mismatch(f"credential {value!r} is not the example key's, eu-west-1")
                value = "AKIAIOSFODNN7EXAMPLE/<day>/eu-west-1/s3/aws4_request"
            elif name == "x-amz-date":
                if not DATE.match(value):
                    raise Mismatch(f"x-amz-date {value!r} is not yyyymmddThhmmssZ")
                date = value
                value = "<date>"
            c = {name: value}
        elif isinstance(c, list) and len(c) == 3:
            op = str(c[0]).lower()
            if op == "content-length-range":
                c = [op, int(c[1]), int(c[2])]
            else:
                c = [op, str(c[1]).lower(), c[2]]
        else:
            raise Mismatch(f"a condition of an unknown shape: {c}")
        conds.add(json.dumps(c, sort_keys=True))
    if date is None:
        raise Mismatch("no x-amz-date condition")
    exp = dt.datetime.strptime(doc["expiration"].replace(".000Z", "Z"), "%Y-%m-%dT%H:%M:%SZ")
    signed = dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ")
    return conds, (exp - signed).total_seconds()


def main():
    paths = sys.argv[1:]
    ok = True
    ref_name, ref = None, None
    for path in paths:
        name = os.path.basename(path).removesuffix(".json")
        try:
            conds, lifetime = normalized(policy_of(path))
        except (Mismatch, ValueError, KeyError) as e:
            print(f"{name}: {e}")
            ok = False
            continue
        note = "" if lifetime == LIFETIME else f" (NOT {LIFETIME} s)"
        print(f"  {name}: {len(conds)} conditions, expires {lifetime:.0f} s after x-amz-date{note}")
        ok &= lifetime == LIFETIME
        if ref is None:
            ref_name, ref = name, conds
            for c in sorted(conds):
                print(f"      {c}")
        elif conds != ref:
            ok = False
            for c in sorted(conds - ref):
                print(f"      only in {name}: {c}")
            for c in sorted(ref - conds):
                print(f"      only in {ref_name}: {c}")
        else:
            print(f"      the same conditions as {ref_name}")
    if not ok:
        print("http-peers: the servers did not sign the same conditions", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
