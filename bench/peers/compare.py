"""Reads the RESULT and POLICY lines of bench/peers.sh's runs (files named on the command line),
checks that every implementation signed the same policy, and prints the comparison table.

Policies match when, after lowercasing map keys (S3 compares field names case-insensitively)
and blanking the dates, they hold the same set of conditions and each expires 600 s after its
x-amz-date. Exits 1 if they do not.
"""

import base64
import datetime as dt
import json
import re
import sys

results = {}  # case -> (us/op, ops)
policies = {}  # implementation -> conditions set
order = []

for path in sys.argv[1:]:
    impl = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "RESULT":
                case, us, n = parts[1], float(parts[2]), int(parts[3])
                impl = impl or case
                results[case] = (us, n)
                order.append(case)
            elif parts[0] == "POLICY" and impl:
                policies[impl] = parts[1]


def normalized(b64):
    doc = json.loads(base64.b64decode(b64))
    conds = set()
    date = None
    for c in doc["conditions"]:
        if isinstance(c, dict):
            (k, v), = c.items()
            k = k.lower()
            if k == "x-amz-date":
                date = v
                v = "<date>"
            elif k == "x-amz-credential":
                v = re.sub(r"/\d{8}/", "/<day>/", v)
            c = {k: v}
        conds.add(json.dumps(c, sort_keys=True))
    exp = dt.datetime.strptime(doc["expiration"], "%Y-%m-%dT%H:%M:%SZ")
    signed = dt.datetime.strptime(date, "%Y%m%dT%H%M%SZ")
    return conds, (exp - signed).total_seconds()


ok = True
ref_impl, ref = None, None
for impl, b64 in policies.items():
    conds, lifetime = normalized(b64)
    print(f"{impl}: {len(conds)} conditions, expires {lifetime:.0f} s after x-amz-date")
    if lifetime != 600:
        ok = False
    if ref is None:
        ref_impl, ref = impl, conds
    elif conds != ref:
        ok = False
        print(f"  differs from {ref_impl}: {sorted(conds ^ ref)}")
if not ok:
    print("the implementations did not sign the same policy", file=sys.stderr)
    sys.exit(1)

warm = results["build+sign"][0]
derive = results["build+sign-derive"][0]
sign = results["sign"][0]
print()
print(
    "| implementation | µs/op | ops/s (1 thread) | ÷ signpost build+sign "
    "| ÷ signpost build+sign-derive | ÷ signpost sign |"
)
print("|---|---:|---:|---:|---:|---:|")
for case in order:
    us, _ = results[case]
    if case in ("boto3", "aws-sdk-js-v3"):
        print(
            f"| {case} | {us:.2f} | {1e6 / us:,.0f} "
            f"| {us / warm:.1f}× | {us / derive:.1f}× | {us / sign:.1f}× |"
        )
    else:
        print(f"| signpost {case} | {us:.2f} | {1e6 / us:,.0f} | | | |")
