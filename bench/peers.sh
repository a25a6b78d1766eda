#!/usr/bin/env bash
# Peer comparison, on this machine, in one go: boto3's generate_presigned_post, aws-sdk-js v3's
# createPresignedPost and signpost (examples/sign_loop.rs, release) sign the same policy
# (bench/avatar.rs) with the same fixed credentials, one thread each, one after the other.
# Installs what it needs (idempotent): boto3 into target/bench-venv, the npm packages of
# bench/js/package-lock.json into bench/js/node_modules.
#
#   bench/peers.sh [SECONDS_PER_CASE]     (default 5; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-5}"
out="target/bench-peers"
mkdir -p "$out"

apt_install() { # package
  echo "peers: installing $1 (apt)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$1" >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq "$1" >/dev/null; fi
}
need_apt() { # command, package
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}
need_apt python3 python3
need_apt node nodejs
need_apt npm npm

# boto3, pinned, into a venv; reinstalled only when requirements.txt changes.
venv="target/bench-venv"
req="bench/peers/requirements.txt"
stamp="$venv/.requirements.sha256"
if ! [ -x "$venv/bin/python" ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
  if ! python3 -m venv "$venv" 2>/dev/null; then
    apt_install python3-venv # Debian ships venv separately
    rm -rf "$venv" && python3 -m venv "$venv"
  fi
  timeout 600 "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  sha256sum "$req" >"$stamp"
fi

# aws-sdk-js v3, exactly as locked; reinstalled only when the lock changes.
jsstamp="bench/js/node_modules/.package-lock.sha256"
if ! sha256sum --status -c "$jsstamp" 2>/dev/null; then
  (cd bench/js && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
  sha256sum bench/js/package-lock.json >"$jsstamp"
fi

# Cargo's target directory, wherever CARGO_TARGET_DIR or a config puts it.
target_dir() {
  cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4
}
# The core library is all the example needs: no server features, so no server build either.
cargo build --release --quiet --no-default-features --example sign_loop
sign_loop="$(target_dir)/release/examples/sign_loop"

bound=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 5 + 60 }')
echo "peers: signpost ($secs s per case)" >&2
timeout "$bound" "$sign_loop" --seconds "$secs" >"$out/signpost.txt"
echo "peers: boto3 ($secs s)" >&2
timeout "$bound" "$venv/bin/python" bench/peers/boto3_post.py "$secs" >"$out/boto3.txt"
echo "peers: aws-sdk-js v3 ($secs s)" >&2
(cd bench/js && NODE_NO_WARNINGS=1 timeout "$bound" node presigned-post.mjs "$secs") >"$out/js.txt"

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$venv/bin/python" -c 'import boto3, botocore, sys; print(f"boto3 {boto3.__version__}, botocore {botocore.__version__}, python {sys.version.split()[0]}")'), node $(node --version), @aws-sdk/client-s3 $(node -p 'require("./bench/js/node_modules/@aws-sdk/client-s3/package.json").version'), @aws-sdk/s3-presigned-post $(node -p 'require("./bench/js/node_modules/@aws-sdk/s3-presigned-post/package.json").version'), $(rustc --version)"
python3 bench/peers/compare.py "$out/signpost.txt" "$out/boto3.txt" "$out/js.txt"
