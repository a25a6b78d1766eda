#!/usr/bin/env bash
# signpost's HTTP routes side by side with the servers people write or run instead, on
# 127.0.0.1 with wrk -t2 -c32 for SECONDS each (default 10), every server signing the same
# conditions (bucket signpost-bench-uploads, key users/42/<uuid>/me.png, content-length-range
# 1 byte to 5 MiB, Content-Type image/png, success_action_status 201, 600 s, the AWS example
# credentials, eu-west-1):
#
#   signpost serve (release; config written to target/, no rate limit, auth none, AWS S3):
#     GET /healthz (the floor, first and last), POST /api/v1/sign/avatar,
#     GET /api/v1/presign?key=users/42/me.png, GET /s3/params (Companion's route),
#     GET /upload/avatar
#   node:http + aws-sdk-js v3 createPresignedPost      bench/js/sign-server.mjs
#   FastAPI + boto3 under uvicorn (uvloop, httptools)  bench/peers/fastapi_app.py
#   Flask + boto3 under gunicorn (gthread, 4 threads)  bench/peers/flask_app.py
#   Uppy Companion's GET /s3/params (@uppy/companion)  bench/companion/server.mjs
#     each peer: GET /healthz, then its signing route
#
# One process per server (gunicorn: its master and one worker): signpost's runtime has a
# worker thread per core, Node and Python one event loop or interpreter (the GIL). req/s of a
# one-process peer is thus held to about one core; CPU per request is the comparison that
# does not depend on that. All servers start first and stay up; each answer is checked (200,
# and every form's policy decoded and compared: bench/peers/http_policies.py) before any load.
# Then two interleaved rounds: every server and route once, in the order above, then all again;
# each run is preceded by a short unmeasured warm-up (WARMUP seconds, default 2). CPU per
# request is the server's process tree's user + system time (/proc/PID/stat) over the run
# divided by the requests answered; peak RSS is VmHWM (summed over the tree). After the rounds,
# signpost's /healthz and sign route at 1,000 connections, for its peak RSS there.
#
# Installs what it needs, idempotently: wrk, curl, node, npm, python3-venv (apt); FastAPI,
# uvicorn, Flask, gunicorn and boto3 as pinned in bench/peers/requirements-http.txt into
# target/bench-http-venv; bench/js's and bench/companion's package-lock.json into their
# node_modules (git-ignored). Everything it writes goes under target/ (results in
# target/bench-peers-http/). Bounded: each wrk run is capped at SECONDS + 30 s, a server's
# start at 60 s. About 30 × (SECONDS + WARMUP) s plus installs and the build; all servers are
# stopped on exit. Exits 1 if a server does not start or answer, if the forms differ, or if a
# goal is missed (the report says which).
#
#   bench/http-peers.sh [SECONDS]                       (run from anywhere)
#   SIGNPOST_BIN=/path/to/signpost bench/http-peers.sh  (that binary, no build)
#   WARMUP=5 bench/http-peers.sh 30
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10}"
warmup="${WARMUP:-2}"
out="target/bench-peers-http"
mkdir -p "$out"
log() { echo "http-peers: $*" >&2; }
die() { log "$*"; exit 1; }

apt_install() { # package
  log "installing $1 (apt)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "$1" >/dev/null; fi
}
need_apt() { # command, package
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}
need_apt wrk wrk
need_apt curl curl
need_apt python3 python3
need_apt node nodejs
need_apt npm npm
# @uppy/companion 6 wants node ^20.19.3 || >= 22.
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "node $(node --version) is too old for @uppy/companion 6 (needs 20.19.3 or later)"

# The Python peers, pinned, into their own venv; reinstalled only when the pins change.
venv="target/bench-http-venv"
req="bench/peers/requirements-http.txt"
stamp="$venv/.requirements.sha256"
if ! [ -x "$venv/bin/python" ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt_install python3-venv # Debian ships venv separately
    rm -rf "$venv" && python3 -m venv "$venv"
  fi
  log "installing $req into $venv"
  timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  sha256sum "$req" >"$stamp"
fi
# The node peers, exactly as locked; reinstalled only when a lock changes.
for dir in bench/js bench/companion; do
  if ! sha256sum --status -c "$dir/node_modules/.package-lock.sha256" 2>/dev/null; then
    log "installing $dir/package-lock.json (npm ci)"
    (cd "$dir" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
    sha256sum "$dir/package-lock.json" >"$dir/node_modules/.package-lock.sha256"
  fi
done

# 1,000 connections need 1,000+ descriptors in wrk and in the server (which inherits this).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2100 ]; then
  die "need ulimit -n >= 2100 for 1,000 connections, have $(ulimit -n)"
fi

# Cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4
}
if [ -n "${SIGNPOST_BIN:-}" ]; then
  bin="$SIGNPOST_BIN"
else
  log "building signpost (release)"
  cargo build --release --locked --quiet --bin signpost
  bin="$(target_dir)/release/signpost"
fi

load_start="$(uptime)"
started_at=$(date +%s)

# ---- servers --------------------------------------------------------------------------------

taken=" "
free_port() { # a port on which nothing answers and that no server here was given
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then taken="$taken$p "; echo "$p"; return; fi
  done
  die "no free port found"
}

# A process and its descendants (gunicorn: master and worker), by walking parent ids.
tree() { # pid
  local all="$1" frontier="$1" next p
  while [ -n "$frontier" ]; do
    next=""
    for p in $frontier; do next="$next $(ps -o pid= --ppid "$p" 2>/dev/null | tr '\n' ' ')"; done
    next=$(echo $next)
    all="$all $next"; frontier="$next"
  done
  echo $all
}
# User + system CPU time of a process tree so far, in clock ticks (with reaped children's).
cpu_ticks() { # pid
  local p v t=0
  for p in $(tree "$1"); do
    v=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
mem_kib() { # pid, VmRSS or VmHWM: summed over the tree, in KiB
  local p v t=0
  for p in $(tree "$1"); do
    v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null)
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

names=()
declare -A pid port
cleanup() {
  local n p all=""
  for n in "${names[@]}"; do all="$all $(tree "${pid[$n]}")"; done
  for p in $all; do kill "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=""
    for p in $all; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for p in $all; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$data"
}
data="$(mktemp -d "$PWD/$out/data.XXXXXX")"
trap cleanup EXIT

start() { # name, command... (started with its output in $out/NAME.log; stdout discarded)
  local name="$1"; shift
  "$@" >/dev/null 2>"$out/$name.log" &
  pid[$name]=$!
  names+=("$name")
}
wait_up() { # name
  local name="$1" base="http://127.0.0.1:${port[$1]}"
  for i in $(seq 1 600); do
    curl -fsS -o /dev/null --max-time 1 "$base/healthz" 2>/dev/null && return 0
    kill -0 "${pid[$name]}" 2>/dev/null || { log "$name exited:"; cat "$out/$name.log" >&2; exit 1; }
    [ "$i" = 600 ] && { log "$name: /healthz did not answer in 60 s:"; cat "$out/$name.log" >&2; exit 1; }
    sleep 0.1
  done
}

# signpost signs for one profile that gives the same conditions as the peers: key
# users/42/{uuid}/${filename}, 1 byte to 5 MiB, PNG, JPEG, GIF or WebP, 10 minutes, no metadata; AWS S3 in
# eu-west-1 with the example credentials (nothing is sent to S3); no auth, no rate limit.
port[signpost]=$(free_port)
cat >"$data/signpost.toml" <<EOF
[server]
listen = "127.0.0.1:${port[signpost]}"
state_secret = "$(printf '%064d' 0 | tr 0 7)"
companion_profile = "avatar"

[s3]
region = "eu-west-1"
credentials = "static"
access_key_id = "AKIAIOSFODNN7EXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

[auth]
mode = "none"

[[profile]]
name = "avatar"
title = "Avatar"
bucket = "signpost-bench-uploads"
key = "users/42/{uuid}/\${filename}"
min_size = 1
max_size = "5MiB"
content_types = ["image/png", "image/jpeg", "image/gif", "image/webp"]
expires = "10m"
EOF
cp "$data/signpost.toml" "$out/signpost.toml"
# The server logs every request at INFO on stdout (discarded; formatting it is still paid), as
# in bench/http-load.sh.
start signpost "$bin" serve --config "$data/signpost.toml"

port[node]=$(free_port)
start node env NODE_NO_WARNINGS=1 node bench/js/sign-server.mjs "${port[node]}"

port[fastapi]=$(free_port)
start fastapi env PYTHONDONTWRITEBYTECODE=1 "$venv/bin/uvicorn" --app-dir bench/peers --host 127.0.0.1 --port "${port[fastapi]}" \
  --workers 1 --loop uvloop --http httptools fastapi_app:app

port[flask]=$(free_port)
start flask env PYTHONDONTWRITEBYTECODE=1 "$venv/bin/gunicorn" --chdir bench/peers --bind "127.0.0.1:${port[flask]}" \
  --workers 1 --worker-class gthread --threads 4 --no-control-socket flask_app:app

port[companion]=$(free_port)
mkdir -p "$data/companion"
start companion env NODE_NO_WARNINGS=1 node bench/companion/server.mjs "${port[companion]}" "$data/companion"

for n in "${names[@]}"; do wait_up "$n"; done
log "all servers up: $(for n in "${names[@]}"; do printf '%s=%s ' "$n" "${port[$n]}"; done)"
declare -A idle
for n in "${names[@]}"; do idle[$n]=$(mem_kib "${pid[$n]}" VmRSS); done

# ---- what each run loads, and a check of every answer ----------------------------------------

body='{"filename":"me.png","content_type":"image/png","size":12345}'
# server route lua path
runs="signpost healthz get.lua /healthz
signpost sign sign-avatar.lua /api/v1/sign/avatar
signpost presign get.lua /api/v1/presign?key=users/42/me.png
signpost s3-params get.lua /s3/params?filename=me.png&type=image/png
signpost upload get.lua /upload/avatar
signpost healthz-again get.lua /healthz
node healthz get.lua /healthz
node sign sign-avatar.lua /api/v1/sign/avatar
fastapi healthz get.lua /healthz
fastapi sign sign-avatar.lua /api/v1/sign/avatar
flask healthz get.lua /healthz
flask sign sign-avatar.lua /api/v1/sign/avatar
companion healthz get.lua /healthz
companion sign get.lua /s3/params?filename=me.png&type=image/png"

check() { # server route lua path
  local f="$out/answer-$1-$2.json" code want args=()
  case "$3" in sign-avatar.lua) args=(-X POST -H 'Content-Type: application/json' --data "$body") ;; esac
  code=$(curl -sS -o "$f" -w '%{http_code}' --max-time 5 "${args[@]}" "http://127.0.0.1:${port[$1]}$4")
  case "$2" in
    healthz*) want='ok' ;;
    sign | s3-params) want='"fields"' ;;
    presign) want='X-Amz-Signature=' ;;
    upload) want='<form' ;;
  esac
  if [ "$code" != 200 ] || ! grep -q -- "$want" "$f"; then
    log "$1 $4 answered $code, not 200 with $want:"
    head -c 600 "$f" >&2; echo >&2
    exit 1
  fi
}
while read -r s r l p <&3; do check "$s" "$r" "$l" "$p"; done 3<<<"$runs"
policies=()
for f in signpost-sign signpost-s3-params node-sign fastapi-sign flask-sign companion-sign; do
  cp "$out/answer-$f.json" "$data/$f.json"
  policies+=("$data/$f.json")
done
echo "policies (each form's conditions, normalized; compared with signpost's sign route):" >"$out/policies.txt"
if ! python3 bench/peers/http_policies.py "${policies[@]}" >>"$out/policies.txt"; then
  cat "$out/policies.txt" >&2
  die "the servers did not sign the same conditions (answers in $out/answer-*.json)"
fi

# ---- load -------------------------------------------------------------------------------------

results="$out/results.txt"
: >"$results"
wrk_run() { # server lua path conns seconds output
  timeout $(($5 + 30)) wrk -t2 -c"$4" -d"$5s" --timeout 5s --latency -s "bench/http/$2" \
    "http://127.0.0.1:${port[$1]}$3" >"$6" </dev/null
}
measure() { # round server route lua path conns
  local round="$1" s="$2" r="$3" l="$4" p="$5" c="$6" f="$out/wrk-$1-$2-$3-$6.txt" t0 t1
  log "round $round: $s $r, $c connections, ${warmup} s warm-up + ${dur} s"
  if [ "$warmup" -gt 0 ]; then wrk_run "$s" "$l" "$p" "$c" "$warmup" /dev/null; fi
  t0=$(cpu_ticks "${pid[$s]}")
  wrk_run "$s" "$l" "$p" "$c" "$dur" "$f"
  t1=$(cpu_ticks "${pid[$s]}")
  kill -0 "${pid[$s]}" 2>/dev/null || die "$s died under load"
  echo "kind=run round=$round server=$s route=$r conns=$c $(grep '^WRK_RESULT' "$f" | cut -d' ' -f2-) ticks=$((t1 - t0))" >>"$results"
}
# WARMUP in whole seconds (wrk takes whole seconds).
warmup="${warmup%%.*}"
for round in 1 2; do
  while read -r s r l p <&3; do measure "$round" "$s" "$r" "$l" "$p" 32; done 3<<<"$runs"
done
declare -A hwm32
for n in "${names[@]}"; do hwm32[$n]=$(mem_kib "${pid[$n]}" VmHWM); done
measure 3 signpost healthz get.lua /healthz 1000
measure 3 signpost sign sign-avatar.lua /api/v1/sign/avatar 1000
hwm1000=$(mem_kib "${pid[signpost]}" VmHWM)
for n in "${names[@]}"; do
  procs=$(tree "${pid[$n]}" | wc -w)
  extra=""; [ "$n" = signpost ] && extra="hwm1000_kib=$hwm1000"
  echo "kind=rss server=$n procs=$procs idle_kib=${idle[$n]} hwm32_kib=${hwm32[$n]} $extra" >>"$results"
done
load_end="$(uptime)"

# ---- report -----------------------------------------------------------------------------------

report="$out/report.txt"
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "load at start: $(echo "$load_start" | sed 's/.*load average/load average/')"
  echo "load at end:   $(echo "$load_end" | sed 's/.*load average/load average/') ($(($(date +%s) - started_at)) s later)"
  echo "versions: $("$bin" --version), $(rustc --version | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), node $(node --version), python $("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')"
  echo "  $(node -p 'const v = (d, p) => p + " " + require(`./bench/${d}/node_modules/${p}/package.json`).version;
    [v("js", "@aws-sdk/client-s3"), v("js", "@aws-sdk/s3-presigned-post"), v("companion", "@uppy/companion"),
     v("companion", "express"), "Companion'"'"'s " + v("companion", "@aws-sdk/s3-presigned-post")].join(", ")')"
  echo "  $("$venv/bin/python" -c 'import importlib.metadata as m; print(", ".join(p + " " + m.version(p) for p in ("boto3", "botocore", "fastapi", "uvicorn", "uvloop", "httptools", "flask", "gunicorn")))')"
  echo "wrk -t2 -c32 -d${dur}s --timeout 5s --latency (after ${warmup} s unmeasured), two interleaved rounds; servers and wrk on the same $(nproc) cores"
  echo
  cat "$out/policies.txt"
  echo
} >"$report"
status=0
python3 bench/peers/http_report.py "$results" "$hz" >>"$report" || status=$?
cat "$report"
exit "$status"
