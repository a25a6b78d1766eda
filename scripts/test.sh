#!/usr/bin/env bash
# The project's full test command: installs the test dependencies, starts a
# throwaway single-node Ceph (radosgw S3) in a fresh temp dir, runs the tests
# against it with SIGNPOST_TEST_* exported, and always stops Ceph afterwards.
#
#   scripts/test.sh [extra args for cargo test...]
#
# Exits with the test command's status. Set SIGNPOST_KEEP_CEPH_DIR=1 to keep
# the Ceph dir (config and logs) after the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

"$ROOT/scripts/install-test-deps.sh" || {
  echo "test.sh: ERROR: installing test dependencies failed (see above)" >&2
  exit 1
}

CEPH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/signpost-ceph.XXXXXX")"
TEST_PID=""

# shellcheck disable=SC2317  # invoked from the EXIT trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$TEST_PID" ]]; then
    # Tests still running (we were interrupted): end their process group.
    kill -TERM -- "-$TEST_PID" 2>/dev/null || kill -TERM "$TEST_PID" 2>/dev/null || true
    wait "$TEST_PID" 2>/dev/null || true
  fi
  if ! "$ROOT/scripts/ceph.sh" stop "$CEPH_DIR"; then
    echo "test.sh: WARNING: stopping Ceph in $CEPH_DIR failed; check for leftover processes with: pgrep -af '$CEPH_DIR'" >&2
    [[ $rc -ne 0 ]] || rc=1
  fi
  if [[ -n "${SIGNPOST_KEEP_CEPH_DIR:-}" ]]; then
    echo "test.sh: keeping Ceph dir $CEPH_DIR" >&2
  else
    rm -rf "$CEPH_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "test.sh: interrupted" >&2; exit 130' INT
trap 'echo "test.sh: terminated" >&2; exit 143' TERM

t0="$(date +%s.%N)"
if ! "$ROOT/scripts/ceph.sh" start "$CEPH_DIR"; then
  # One retry: a free port picked by ceph.sh can be taken by someone else
  # before the daemon binds it.
  echo "test.sh: starting Ceph failed; retrying once with new ports" >&2
  if ! "$ROOT/scripts/ceph.sh" start "$CEPH_DIR"; then
    echo "test.sh: ERROR: starting Ceph failed twice (see the log tails above; rerun with SIGNPOST_KEEP_CEPH_DIR=1 to keep $CEPH_DIR)" >&2
    exit 1
  fi
fi
# shellcheck source=/dev/null
source "$CEPH_DIR/env"
echo "test.sh: Ceph S3 up at $SIGNPOST_TEST_S3_ENDPOINT (region $SIGNPOST_TEST_S3_REGION) in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"

# ---------------------------------------------------------------------------
# TEST COMMAND: change this line to change what the test suite runs.
TEST_CMD=(cargo test --all-features --locked "$@")
# ---------------------------------------------------------------------------

# Run the tests in their own process group (setsid) and wait for them, so an
# INT/TERM to this script is handled at once: the trap ends the whole group,
# then stops Ceph.
setsid -w "${TEST_CMD[@]}" &
TEST_PID=$!
status=0
wait "$TEST_PID" || status=$?
TEST_PID=""

# ---- signpost store: big POST uploads with the memory bound ------------------
# 256 MiB and 1 GiB POSTed to `signpost store`, byte for byte, its RSS within
# 32 MiB of idle (tests/post_streaming.rs, #[ignore]d in plain `cargo test`).
# About 3 minutes on the 2-core machine in a debug build.
if [[ $status -eq 0 ]]; then
  setsid -w cargo test --all-features --locked --test post_streaming -- --ignored &
  TEST_PID=$!
  wait "$TEST_PID" || status=$?
  TEST_PID=""
fi
# ---- end of signpost store section --------------------------------------------
if [[ $status -eq 0 ]]; then
  "$ROOT/scripts/check-installed-binary.sh" || status=$?
fi
exit "$status"
