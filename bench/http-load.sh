#!/usr/bin/env bash
# HTTP load on `signpost serve` (no config: demo profiles on the embedded store), on 127.0.0.1
# only, with wrk: 2 threads, 32 connections, SECONDS each (default 10) against
#   POST /api/v1/sign/avatar   (JSON body, bench/http/sign-avatar.lua)
#   GET  /upload/avatar        (the upload page)
#   GET  /healthz              (the baseline, run first and last; ratios use their mean)
# then the same three at 1,000 connections. Prints req/s, p50/p99, errors, each route's ratio to
# the baseline of the same run, and the server's peak RSS (VmHWM) after the 32- and after the
# 1,000-connection rounds. Installs wrk (apt) if missing. Bounded: each wrk run is capped at
# SECONDS + 30 s, the whole script at about 8 × SECONDS + 2 min plus the build.
#
#   bench/http-load.sh [SECONDS]     (run from anywhere; exits 1 if a goal is missed)
#   SIGNPOST_BIN=/path/to/signpost bench/http-load.sh   (that binary, no build)
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10}"
out="target/bench-http"
mkdir -p "$out"

need_apt() { # command, package
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "http-load: installing $2 (apt)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$2" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "$2" >/dev/null; fi
}
need_apt wrk wrk
need_apt curl curl

# 1,000 connections need 1,000+ descriptors in wrk and in the server (which inherits this).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2100 ]; then
  echo "http-load: need ulimit -n >= 2100 for 1,000 connections, have $(ulimit -n)" >&2
  exit 1
fi

# Cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4
}
# SIGNPOST_BIN=path loads a binary built some other way (another profile) instead.
if [ -n "${SIGNPOST_BIN:-}" ]; then
  bin="$SIGNPOST_BIN"
else
  cargo build --release --quiet --bin signpost
  bin="$(target_dir)/release/signpost"
fi

# A free port: the first of a few random ones on which nothing answers.
port=""
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port="$p"; break; fi
done
[ -n "$port" ] || { echo "http-load: no free port found" >&2; exit 1; }
base="http://127.0.0.1:$port"

data="$(mktemp -d "$PWD/$out/data.XXXXXX")"
# The server logs every request at INFO on stdout (tower-http's TraceLayer): that is discarded
# here (formatting it is still paid) so that a run does not write a GB of log; stderr is kept.
# RUST_LOG passes through, e.g. RUST_LOG=warn to measure without the request log.
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" >/dev/null 2>"$out/server.log" &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

for i in $(seq 1 300); do
  curl -fsS -o /dev/null --max-time 1 "$base/healthz" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { echo "http-load: server exited:" >&2; cat "$out/server.log" >&2; exit 1; }
  [ "$i" = 300 ] && { echo "http-load: /healthz did not answer in 30 s" >&2; exit 1; }
  sleep 0.1
done
rss_start=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")

# Each route must answer 200 before it is loaded (wrk itself only counts answers >= 400).
body='{"filename":"me.png","content_type":"image/png","size":12345}'
check() { # name, expected substring, curl args...
  local name="$1" want="$2"; shift 2
  local code
  code=$(curl -sS -o "$out/preflight-$name.txt" -w '%{http_code}' --max-time 5 "$@")
  if [ "$code" != 200 ] || ! grep -q -- "$want" "$out/preflight-$name.txt"; then
    echo "http-load: $name answered $code, not 200 with $want:" >&2
    head -c 600 "$out/preflight-$name.txt" >&2
    exit 1
  fi
}
check healthz "" "$base/healthz"
check sign '"fields"' -X POST -H 'Content-Type: application/json' --data "$body" "$base/api/v1/sign/avatar"
check upload '<form' "$base/upload/avatar"

results="$out/results.txt"
: >"$results"
run() { # label, connections, script, path
  local label="$1" conns="$2" script="$3" path="$4" line cpu0 cpu1
  echo "http-load: $label, $conns connections, ${dur} s" >&2
  cpu0=$(cpu_ticks)
  timeout $((dur + 30)) wrk -t2 -c"$conns" -d"${dur}s" --timeout 5s --latency -s "$script" \
    "$base$path" >"$out/wrk-$label-$conns.txt"
  cpu1=$(cpu_ticks)
  line=$(grep '^WRK_RESULT' "$out/wrk-$label-$conns.txt")
  echo "$label $conns $line server_cpu_ticks=$((cpu1 - cpu0))" >>"$results"
}
# The server's user + system CPU time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$pid/status"; }
# Where the resident memory is now: anonymous (heap, stacks) and file-backed (the binary's pages).
split_rss() { awk '/^(VmRSS|RssAnon|RssFile)/ { printf "%s %.1f MB  ", $1, $2 * 1024 / 1e6 }' "/proc/$pid/status"; }

run healthz 32 bench/http/get.lua /healthz
run sign 32 bench/http/sign-avatar.lua /api/v1/sign/avatar
run upload 32 bench/http/get.lua /upload/avatar
run healthz-again 32 bench/http/get.lua /healthz
hwm32=$(hwm)
split32=$(split_rss)
run healthz 1000 bench/http/get.lua /healthz
run sign 1000 bench/http/sign-avatar.lua /api/v1/sign/avatar
run upload 1000 bench/http/get.lua /upload/avatar
run healthz-again 1000 bench/http/get.lua /healthz
hwm1000=$(hwm)
split1000=$(split_rss)
kill -0 "$pid" 2>/dev/null || { echo "http-load: the server died under load" >&2; exit 1; }

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(rustc --version)"
echo "resident after the 32-connection rounds: $split32"
echo "resident after the 1,000-connection rounds: $split1000"
echo "wrk -t2 -c{32,1000} -d${dur}s --timeout 5s --latency, server and wrk on the same $(nproc) cores"
echo
awk -v hz="$hz" -v hwm32="$hwm32" -v hwm1000="$hwm1000" -v rss0="$rss_start" '
  function kv(s,   n, i, a, p) { n = split(s, a, " "); for (i = 1; i <= n; i++) { split(a[i], p, "="); v[p[1]] = p[2] } }
  {
    label = $1; conns = $2; delete v; kv($0)
    key = label SUBSEP conns
    rps[key] = v["requests"] / (v["duration_us"] / 1e6)
    p50[key] = v["p50_us"] / 1000; p99[key] = v["p99_us"] / 1000
    sock[key] = v["connect"] + v["read"] + v["write"] + v["timeout"]; http[key] = v["status"]
    cpu[key] = v["server_cpu_ticks"] / hz * 1e6 / v["requests"]
    errs += sock[key] + http[key]
    order[++n] = key
  }
  END {
    print "| route | connections | req/s | p50 ms | p99 ms | socket errors | HTTP >= 400 | ratio to /healthz | server CPU µs/req |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    name["healthz"] = "GET /healthz (baseline)"; name["healthz-again"] = "GET /healthz (baseline, again)"
    name["sign"] = "POST /api/v1/sign/avatar"; name["upload"] = "GET /upload/avatar"
    for (i = 1; i <= n; i++) {
      split(order[i], kc, SUBSEP); l = kc[1]; c = kc[2]
      b = (rps["healthz" SUBSEP c] + rps["healthz-again" SUBSEP c]) / 2
      ratio = (l ~ /^healthz/) ? "" : sprintf("%.2f×", rps[order[i]] / b)
      printf "| %s | %d | %.0f | %.2f | %.2f | %d | %d | %s | %.1f |\n", name[l], c, rps[order[i]], p50[order[i]], p99[order[i]], sock[order[i]], http[order[i]], ratio, cpu[order[i]]
      if (l == "sign") rs[c] = rps[order[i]] / b
      if (l == "upload") ru[c] = rps[order[i]] / b
    }
    printf "\nserver RSS: %.1f MB after start; peak (VmHWM) %.1f MB after the 32-connection rounds, %.1f MB after the 1,000-connection rounds (MB = 10^6 bytes)\n", mb(rss0), mb(hwm32), mb(hwm1000)
    print ""
    fail = 0
    fail += goal("sign route >= 0.85x baseline req/s (32 connections)", rs[32] >= 0.85, sprintf("%.2f×", rs[32]))
    fail += goal("upload page >= 0.75x baseline req/s (32 connections)", ru[32] >= 0.75, sprintf("%.2f×", ru[32]))
    fail += goal("peak RSS <= 8 MB at 32 connections", mb(hwm32) <= 8, sprintf("%.1f MB", mb(hwm32)))
    fail += goal("peak RSS <= 32 MB at 1,000 connections", mb(hwm1000) <= 32, sprintf("%.1f MB", mb(hwm1000)))
    fail += goal("0 errors", errs == 0, errs " errors")
    exit fail > 0
  }
  function mb(kib) { return kib * 1024 / 1e6 }
  function goal(what, ok, got) { printf "goal %-55s %s (%s)\n", what, ok ? "met" : "NOT MET", got; return !ok }
' "$results"
