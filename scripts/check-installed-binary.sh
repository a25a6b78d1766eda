#!/usr/bin/env bash
# The static files (app.js, style.css) are compiled into the binary: a `signpost` installed
# with `cargo install --path .`, copied to an empty folder and run from there, must serve
# them byte for byte, with no checkout beside it.
#
#   scripts/check-installed-binary.sh
#
# It installs from a copy of the sources and deletes that copy before the binary runs, so a
# binary that still read files from the tree it was built in would fail here. Reuses
# ./target (debug profile): after the test suite only the signpost crate compiles.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signpost-installed.XXXXXX")"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
mkdir "$WORK/src"
git -C "$ROOT" ls-files -z --cached --others --exclude-standard \
  | (cd "$ROOT" && xargs -0 cp --parents -t "$WORK/src" 2>/dev/null || true)
cargo install --quiet --locked --debug --path "$WORK/src" --root "$WORK/install"
rm -rf "$WORK/src"
mkdir "$WORK/empty"
cp "$WORK/install/bin/signpost" "$WORK/empty/"
cd "$WORK/empty"
env -u SIGNPOST_STATIC_DIR -u SIGNPOST_CONFIG ./signpost serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/out" 2>"$WORK/err" &
PID=$!
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'open http://127\.0\.0\.1:[0-9]*' "$WORK/out" | head -1 | cut -c6- || true)
  [[ -n "$url" ]] && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/err" >&2; echo "check-installed-binary: FAIL: the installed binary did not start" >&2; exit 1; }
  sleep 0.05
done
[[ -n "$url" ]] || { echo "check-installed-binary: FAIL: no URL printed in 10 s" >&2; exit 1; }
for f in app.js files.js style.css favicon.svg; do
  curl -sS --fail "$url/static/$f" -o "$WORK/$f" || { echo "check-installed-binary: FAIL: $url/static/$f was not served" >&2; exit 1; }
  cmp -s "$WORK/$f" "$ROOT/static/$f" || { echo "check-installed-binary: FAIL: /static/$f differs from static/$f" >&2; exit 1; }
done
type=$(curl -sS -o /dev/null -w '%{content_type}' "$url/static/app.js")
[[ "$type" == text/javascript* ]] || { echo "check-installed-binary: FAIL: app.js served as $type" >&2; exit 1; }
echo "check-installed-binary: ok: an installed binary run from an empty folder serves app.js, files.js, style.css and favicon.svg"
