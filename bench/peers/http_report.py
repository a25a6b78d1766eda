"""The tables of bench/http-peers.sh, from its results file.

Usage: http_report.py RESULTS CLK_TCK. RESULTS has one `key=value ...` line per wrk run
(`kind=run round= server= route= conns= requests= duration_us= connect= read= write= timeout=
status= p50_us= p99_us= ticks=`, ticks being the server's user + system CPU time over the run,
its whole process tree) and one per server's memory (`kind=rss server= procs= idle_kib=
hwm32_kib= [hwm1000_kib=]`). Prints each run, the two rounds together, memory, signpost's sign
route against every peer, and the goals; exits 1 if a goal is missed.
"""

import sys
from collections import defaultdict

SERVERS = {
    "signpost": "signpost",
    "node": "node:http + aws-sdk-js v3",
    "fastapi": "FastAPI + boto3 (uvicorn)",
    "flask": "Flask + boto3 (gunicorn)",
    "companion": "Uppy Companion",
}
ROUTES = {
    ("signpost", "healthz"): "GET /healthz",
    ("signpost", "healthz-again"): "GET /healthz (again)",
    ("signpost", "sign"): "POST /api/v1/sign/avatar",
    ("signpost", "presign"): "GET /api/v1/presign?key=…",
    ("signpost", "s3-params"): "GET /s3/params (Companion's route)",
    ("signpost", "upload"): "GET /upload/avatar",
    ("companion", "sign"): "GET /s3/params",
}
MIB = 1024 * 1024


def route_name(server, route):
    if (server, route) in ROUTES:
        return ROUTES[(server, route)]
    return {"healthz": "GET /healthz", "sign": "POST /api/v1/sign/avatar"}[route]


def parse(path):
    runs, rss = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            kv = dict(p.split("=", 1) for p in line.split())
            if not kv:
                continue
            kind = kv.pop("kind")
            if kind == "run":
                for k, v in kv.items():
                    if k not in ("server", "route"):
                        kv[k] = int(v)
                runs.append(kv)
            elif kind == "rss":
                rss[kv["server"]] = {k: (v if k == "server" else int(v)) for k, v in kv.items()}
    return runs, rss


def errors(r):
    return r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]


def main():
    runs, rss = parse(sys.argv[1])
    hz = int(sys.argv[2])
    us_per_tick = 1e6 / hz

    def rps(r):
        return r["requests"] / (r["duration_us"] / 1e6)

    def cpu(r):
        return r["ticks"] * us_per_tick / max(r["requests"], 1)

    print("Each run (CPU: the server's process tree, user + system, per request answered):")
    print()
    print("| round | server | route | conns | req/s | p50 ms | p99 ms | errors | CPU µs/req |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['round']} | {SERVERS[r['server']]} | {route_name(r['server'], r['route'])} "
            f"| {r['conns']} | {rps(r):,.0f} | {r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} "
            f"| {errors(r)} | {cpu(r):.1f} |"
        )

    # Both rounds together: requests over time, ticks over requests, p99 the worse round's.
    groups = defaultdict(list)
    order = []
    for r in runs:
        g = (r["server"], r["route"], r["conns"])
        if g not in groups:
            order.append(g)
        groups[g].append(r)
    agg = {}
    for g, rs in groups.items():
        req = sum(r["requests"] for r in rs)
        agg[g] = {
            "rps": req / (sum(r["duration_us"] for r in rs) / 1e6),
            "cpu": sum(r["ticks"] for r in rs) * us_per_tick / max(req, 1),
            "p50": sum(r["p50_us"] for r in rs) / len(rs) / 1000,
            "p99": max(r["p99_us"] for r in rs) / 1000,
            "errors": sum(errors(r) for r in rs),
            "rounds": [rps(r) for r in rs],
            "round_cpu": [cpu(r) for r in rs],
        }

    def floor(server, conns, what="cpu"):
        """The server's /healthz (signpost: the mean of its two /healthz runs per round)."""
        keys = [(server, "healthz", conns), (server, "healthz-again", conns)]
        vals = [agg[k][what] for k in keys if k in agg]
        return sum(vals) / len(vals) if vals else None

    print()
    print("Both rounds (req/s: all requests ÷ all seconds; CPU: all ticks ÷ all requests;")
    print("p50: mean of the rounds; p99: the worse round's):")
    print()
    print("| server | route | conns | req/s (round 1, 2) | p50 ms | p99 ms | errors | CPU µs/req | CPU ÷ own /healthz |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for g in order:
        a = agg[g]
        server, route, conns = g
        base = floor(server, conns)
        ratio = "" if route.startswith("healthz") or base is None else f"{a['cpu'] / base:.2f}×"
        rounds = ", ".join(f"{x:,.0f}" for x in a["rounds"])
        print(
            f"| {SERVERS[server]} | {route_name(server, route)} | {conns} | {a['rps']:,.0f} ({rounds}) "
            f"| {a['p50']:.2f} | {a['p99']:.2f} | {a['errors']} | {a['cpu']:.1f} | {ratio} |"
        )

    print()
    print("Memory (MiB = 2^20 bytes; summed over the server's processes):")
    print()
    print("| server | processes | RSS idle (after start) | peak RSS (VmHWM) after the 32-connection rounds |")
    print("|---|---:|---:|---:|")
    for s, m in rss.items():
        print(f"| {SERVERS[s]} | {m['procs']} | {m['idle_kib'] / 1024:.1f} | {m['hwm32_kib'] / 1024:.1f} |")
    sp = rss.get("signpost", {})
    if "hwm1000_kib" in sp:
        print(f"\nsignpost peak RSS (VmHWM) after the 1,000-connection runs: {sp['hwm1000_kib'] / 1024:.1f} MiB")

    print()
    print("signpost's sign route against each peer's (32 connections; × = how many times signpost's")
    print("req/s, and how many times less CPU per request signpost used; per round in brackets):")
    print()
    print("| peer | peer req/s | peer CPU µs/req | signpost req/s ÷ peer | peer CPU/req ÷ signpost |")
    print("|---|---:|---:|---:|---:|")
    ours = agg.get(("signpost", "sign", 32))
    for peer in ("node", "fastapi", "flask", "companion"):
        theirs = agg.get((peer, "sign", 32))
        if not theirs or not ours:
            continue
        per_rps = ", ".join(f"{o / t:.1f}×" for o, t in zip(ours["rounds"], theirs["rounds"]))
        per_cpu = ", ".join(f"{t / o:.1f}×" for o, t in zip(ours["round_cpu"], theirs["round_cpu"]))
        print(
            f"| {SERVERS[peer]} {route_name(peer, 'sign')} | {theirs['rps']:,.0f} | {theirs['cpu']:.1f} "
            f"| {ours['rps'] / theirs['rps']:.1f}× ({per_rps}) | {theirs['cpu'] / ours['cpu']:.1f}× ({per_cpu}) |"
        )
    same = agg.get(("signpost", "s3-params", 32))
    comp = agg.get(("companion", "sign", 32))
    if same and comp:
        print(
            f"| Uppy Companion GET /s3/params vs signpost's GET /s3/params | {comp['rps']:,.0f} | {comp['cpu']:.1f} "
            f"| {same['rps'] / comp['rps']:.1f}× | {comp['cpu'] / same['cpu']:.1f}× |"
        )

    print()
    fail = 0

    def goal(what, ok, got):
        nonlocal fail
        print(f"goal {what:<62} {'met' if ok else 'NOT MET'} ({got})")
        fail += not ok

    base = floor("signpost", 32)
    for route, limit in (("sign", 1.25), ("presign", 1.25), ("s3-params", 1.25), ("upload", 1.4)):
        a = agg.get(("signpost", route, 32))
        if a and base:
            r = a["cpu"] / base
            goal(f"CPU/request {route_name('signpost', route)} <= {limit}x /healthz", r <= limit, f"{r:.2f}×")
    if sp:
        goal("RSS <= 8 MiB idle", sp["idle_kib"] <= 8 * 1024, f"{sp['idle_kib'] / 1024:.1f} MiB")
        goal("peak RSS <= 8 MiB at 32 connections", sp["hwm32_kib"] <= 8 * 1024, f"{sp['hwm32_kib'] / 1024:.1f} MiB")
        if "hwm1000_kib" in sp:
            goal("peak RSS <= 32 MiB at 1,000 connections", sp["hwm1000_kib"] <= 32 * 1024, f"{sp['hwm1000_kib'] / 1024:.1f} MiB")
    errs = sum(errors(r) for r in runs if r["server"] == "signpost")
    goal("0 errors (signpost, every run)", errs == 0, f"{errs} errors")
    worst = max((r["p99_us"] for r in runs if r["server"] == "signpost" and r["conns"] == 32), default=0)
    goal("p99 < 10 ms at 32 connections (signpost, every route)", worst < 10_000, f"worst {worst / 1000:.2f} ms")
    peer_errs = sum(errors(r) for r in runs if r["server"] != "signpost")
    if peer_errs:
        print(f"note: the peers had {peer_errs} errors (wrk: socket errors and HTTP answers >= 400)")
    sys.exit(1 if fail else 0)


if __name__ == "__main__":
    main()
