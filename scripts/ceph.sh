#!/usr/bin/env bash
# Single-node, throwaway Ceph cluster with radosgw (S3) for signpost's tests.
#
#   scripts/ceph.sh start  DIR   # mon + memstore OSD + radosgw on free 127.0.0.1 ports
#   scripts/ceph.sh status DIR
#   scripts/ceph.sh stop   DIR   # rgw -> osd -> mon, waits for each to exit
#
# Everything (config, keyrings, mon store, pid files, admin sockets, logs)
# lives inside DIR, so several clusters can run at once in different DIRs and
# nothing touches /etc/ceph or /var/lib/ceph. After a successful start,
# DIR/env is a sourceable file exporting SIGNPOST_TEST_S3_* and
# SIGNPOST_TEST_BUCKET_* for the tests.
#
# radosgw (Ceph 16 "pacific", Debian 12) behaviour worth knowing in tests:
#  - SigV4 with any region in the credential scope is accepted (us-east-1,
#    eu-west-1, ...); the zonegroup is "default".
#  - Signed requests need an x-amz-content-sha256 header (403 without it).
#  - POST object: 204 by default with no ETag/Location headers; 201 returns
#    <PostResponse> XML (ETag there is unquoted); ${filename} in the key is
#    expanded; success_action_redirect gets 303 with
#    ?bucket=..&key=..&etag=.. appended with "?" even if the URL already has
#    a query string.
#  - A CORS preflight matched by AllowedOrigin "*" echoes the request Origin
#    (plus Vary: Origin); actual requests get "Access-Control-Allow-Origin: *".
#
# Env knobs: SIGNPOST_CEPH_START_DEADLINE (s per readiness wait, default 90),
# SIGNPOST_CEPH_STOP_DEADLINE (s before SIGKILL, default 20),
# SIGNPOST_CEPH_KEEP_ON_FAILURE=1 (leave a failed start running to debug).
set -euo pipefail

PROG="ceph.sh"

# Fixed, test-only S3 credentials of the radosgw user "signpost".
ACCESS_KEY="SIGNPOSTTESTACCESS01"
SECRET_KEY="signpostTestSecretKey0123456789abcdefghij"
REGION="us-east-1"
BUCKET_A="signpost-a"
BUCKET_B="signpost-b"
BUCKET_NOCORS="signpost-nocors"

START_DEADLINE="${SIGNPOST_CEPH_START_DEADLINE:-90}" # seconds, per readiness wait
STOP_DEADLINE="${SIGNPOST_CEPH_STOP_DEADLINE:-20}"   # seconds before SIGKILL

die() {
  echo "$PROG: ERROR: $*" >&2
  exit 1
}

log() { echo "$PROG: $*" >&2; }

usage() {
  cat >&2 <<EOF
usage: $0 start|stop|status DIR
  start  DIR  start mon, memstore OSD and radosgw inside DIR (created if missing),
              create the test user and buckets, write DIR/env
  status DIR  show daemon pids, cluster status and whether radosgw answers
  stop   DIR  stop radosgw, OSD and mon started from DIR (SIGKILL after ${STOP_DEADLINE}s)
EOF
  exit 2
}

[[ $# -eq 2 ]] || usage
CMD="$1"
DIR="$2"
[[ -n "$DIR" ]] || usage
case "$CMD" in
start) mkdir -p "$DIR" || die "cannot create directory '$DIR'" ;;
stop)
  if [[ ! -d "$DIR" ]]; then
    echo "$PROG: $DIR does not exist; nothing to stop" >&2
    exit 0
  fi
  ;;
status) [[ -d "$DIR" ]] || die "$DIR does not exist; start a cluster with: $0 start $DIR" ;;
*) usage ;;
esac
DIR="$(cd "$DIR" && pwd -P)"
CONF="$DIR/ceph.conf"
RUN="$DIR/run"

PY=/usr/bin/python3
[[ -x "$PY" ]] || PY="$(command -v python3 || true)"

need_tools() {
  local missing=() t
  for t in ceph ceph-authtool monmaptool ceph-mon ceph-osd radosgw radosgw-admin curl uuidgen; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [[ -n "$PY" ]] || missing+=("python3")
  if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing tools: ${missing[*]}; run scripts/install-test-deps.sh (as root) first"
  fi
}

# The ceph CLI, pointed at this cluster only, and never hanging forever.
cephcli() {
  timeout 60 ceph -c "$CONF" -n client.admin --connect-timeout 15 "$@"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

tail_log() {
  local f="$1"
  if [[ -s "$f" ]]; then
    echo "----- last 40 lines of $f -----" >&2
    tail -n 40 "$f" >&2 || true
    echo "----- end of $f -----" >&2
  fi
}

# alive PID: the process exists and is not a zombie (an exited daemon whose
# parent is init stays a zombie until init reaps it, which can take seconds).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != "Z" && "$state" != "X" ]]
}

# pid of daemon NAME if it is running and really is ours (cmdline names our conf).
daemon_pid() {
  local name="$1" pidfile="$RUN/$1.pid" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F -- "$CONF" >/dev/null || return 1
  echo "$pid"
}

# start_daemon NAME CMD...: run CMD in the foreground (-f) in its own session,
# output to DIR/NAME.out, pid to DIR/run/NAME.pid.
start_daemon() {
  local name="$1"
  shift
  setsid "$@" -f </dev/null >>"$DIR/$name.out" 2>&1 &
  echo $! >"$RUN/$name.pid"
}

# fail_daemon NAME MESSAGE: print what failed with the daemon's log tail, then die.
fail_daemon() {
  local name="$1"
  shift
  tail_log "$DIR/$name.out"
  tail_log "$DIR/$name.log"
  die "$*"
}

# wait_for NAME DESCRIPTION CMD...: poll CMD until it succeeds, failing if daemon
# NAME dies or the deadline passes.
wait_for() {
  local name="$1" what="$2"
  shift 2
  local deadline=$((SECONDS + START_DEADLINE))
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ! daemon_pid "$name" >/dev/null; then
      fail_daemon "$name" "$name exited while waiting for: $what (logs: $DIR/$name.log, $DIR/$name.out)"
    fi
    if ((SECONDS >= deadline)); then
      fail_daemon "$name" "timed out after ${START_DEADLINE}s waiting for: $what (logs: $DIR/$name.log)"
    fi
    sleep 0.2
  done
}

free_ports() {
  # Bind all at once so they are distinct; the kernel picks free ephemeral ports.
  "$PY" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

stop_daemon() {
  local name="$1" pid deadline
  if ! pid="$(daemon_pid "$name")"; then
    rm -f "$RUN/$name.pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_DEADLINE))
  while alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "$name (pid $pid) did not exit within ${STOP_DEADLINE}s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      local kdeadline=$((SECONDS + 10))
      while alive "$pid"; do
        ((SECONDS < kdeadline)) || die "$name (pid $pid) survived SIGKILL; check it with: ps -fp $pid"
        sleep 0.1
      done
      break
    fi
    sleep 0.1
  done
  rm -f "$RUN/$name.pid"
  STOPPED_PIDS+=("$pid")
}

STOPPED_PIDS=()

do_stop() {
  local name pid
  for name in rgw osd.0 mon.a; do
    stop_daemon "$name"
  done
  rm -f "$DIR/env" # the endpoint in it is gone
  # The daemons have exited; give init a moment to reap them so that a pgrep
  # right after stop shows nothing (not an error if it is slow).
  local deadline=$((SECONDS + 5))
  for pid in "${STOPPED_PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
  done
  # Anything else still running from this DIR (e.g. a start that died before
  # writing a pid file): its command line names our unique ceph.conf path.
  if [[ -f "$CONF" ]]; then
    for pid in $(pgrep -f -- "-c $CONF" || true); do
      [[ "$pid" != "$$" ]] || continue
      log "killing leftover process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
      kill -KILL "$pid" 2>/dev/null || true
    done
  fi
}

# Signed S3 request with curl's SigV4 support. s3 METHOD PATH [curl args...]
s3() {
  local method="$1" path="$2"
  shift 2
  curl -sS --max-time 30 -X "$method" \
    --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    "$@" "http://127.0.0.1:$RGW_PORT$path"
}

EMPTY_SHA256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

create_bucket() {
  local b="$1" out code
  out="$(s3 PUT "/$b" -H "x-amz-content-sha256: $EMPTY_SHA256" -o "$DIR/curl.out" -w '%{http_code}')" ||
    die "curl failed creating bucket $b at http://127.0.0.1:$RGW_PORT"
  code="$out"
  if [[ "$code" != "200" ]]; then
    cat "$DIR/curl.out" >&2 || true
    tail_log "$DIR/rgw.log"
    die "creating bucket $b returned HTTP $code (response above)"
  fi
}

CORS_XML='<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>Location</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>'

put_cors() {
  local b="$1" md5 sha code
  md5="$(printf '%s' "$CORS_XML" | "$PY" -c 'import sys,hashlib,base64;print(base64.b64encode(hashlib.md5(sys.stdin.buffer.read()).digest()).decode())')"
  sha="$(printf '%s' "$CORS_XML" | sha256sum | cut -d' ' -f1)"
  # "?cors=" rather than "?cors": curl 7.88's SigV4 signs a bare "cors" query
  # without the "=" and radosgw then answers SignatureDoesNotMatch.
  code="$(s3 PUT "/$b?cors=" -H "Content-MD5: $md5" -H "x-amz-content-sha256: $sha" \
    -H "Content-Type: application/xml" --data-binary "$CORS_XML" -o "$DIR/curl.out" -w '%{http_code}')" ||
    die "curl failed putting CORS configuration on $b"
  if [[ "$code" != "200" ]]; then
    cat "$DIR/curl.out" >&2 || true
    tail_log "$DIR/rgw.log"
    die "PUT ?cors on $b returned HTTP $code (response above)"
  fi
}

PREFLIGHT_ORIGIN="http://example.test"

# preflight BUCKET -> prints the Access-Control-Allow-Origin value (empty if none).
# Note: radosgw answers a preflight matched by AllowedOrigin "*" by echoing the
# request's Origin (with Vary: Origin); actual requests get "*".
preflight() {
  curl -sS --max-time 10 -o /dev/null -D - -X OPTIONS \
    -H "Origin: $PREFLIGHT_ORIGIN" \
    -H "Access-Control-Request-Method: POST" \
    -H "Access-Control-Request-Headers: content-type" \
    "http://127.0.0.1:$RGW_PORT/$1/some-key" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "access-control-allow-origin" { print $2 }'
}

do_start() {
  need_tools
  local t0 pid
  t0="$(now)"
  for name in mon.a osd.0 rgw; do
    if pid="$(daemon_pid "$name")"; then
      die "$name is already running from $DIR (pid $pid); run: $0 stop $DIR"
    fi
  done
  # Fresh state every time: memstore is in RAM anyway.
  rm -rf "$RUN" "$DIR/mon.a" "$DIR/osd.0" "$DIR/rgw.data" "$DIR/crash" "$DIR/env" "$DIR/monmap" "$DIR/keyring" "$DIR"/*.log "$DIR"/*.out
  mkdir -p "$RUN" "$DIR/mon.a" "$DIR/osd.0" "$DIR/rgw.data" "$DIR/crash"

  # If anything below fails, do not leave half a cluster running.
  # (Set SIGNPOST_CEPH_KEEP_ON_FAILURE=1 to keep it running for debugging.)
  trap 'rc=$?; if [[ $rc -ne 0 && -z "${SIGNPOST_CEPH_KEEP_ON_FAILURE:-}" ]]; then log "start failed; stopping whatever was started in $DIR"; do_stop || true; fi' EXIT

  local fsid mon_v2 mon_v1 rgw_port
  fsid="$(uuidgen)"
  read -r mon_v2 mon_v1 rgw_port <<<"$(free_ports 3)"
  RGW_PORT="$rgw_port"

  cat >"$CONF" <<EOF
# Generated by scripts/ceph.sh for a throwaway test cluster. Do not edit.
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
keyring = $DIR/keyring
run_dir = $RUN
crash_dir = $DIR/crash
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
mon_cluster_log_file = $DIR/mon-cluster.log
log_to_stderr = false

[mon]
mon_data = $DIR/\$name
admin_socket = $RUN/\$cluster-\$name.asok
log_file = $DIR/\$name.log
pid_file = $RUN/\$name.ceph.pid
mon_data_avail_warn = 1
mon_data_avail_crit = 0
# Propose map changes at once instead of batching for 1s: every pool radosgw
# creates is a map change, and the default makes startup ~10s slower.
paxos_propose_interval = 0.01
paxos_min_wait = 0.001

[osd]
osd_data = $DIR/\$name
admin_socket = $RUN/\$cluster-\$name.asok
log_file = $DIR/\$name.log
pid_file = $RUN/\$name.ceph.pid
osd_objectstore = memstore
memstore_device_bytes = 1073741824
osd_max_object_name_len = 460
osd_max_object_namespace_len = 64
osd_fast_shutdown = true

[client.rgw]
admin_socket = $RUN/\$cluster-\$name.asok
log_file = $DIR/rgw.log
pid_file = $RUN/rgw.ceph.pid
rgw_data = $DIR/rgw.data
rgw_frontends = beast endpoint=127.0.0.1:$rgw_port
rgw_dns_name =
rgw_thread_pool_size = 64

[client.admin]
log_file = $DIR/client.admin.log
EOF

  # One keyring for all: the mon imports every key in it at mkfs time.
  local kr="$DIR/keyring"
  ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
    --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap mgr 'allow profile osd' \
    --cap osd 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' \
    --cap mgr 'allow rw' >/dev/null
  chmod 600 "$kr"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]" \
    --enable-all-features "$DIR/monmap" >"$DIR/monmaptool.out" 2>&1 ||
    { cat "$DIR/monmaptool.out" >&2; die "monmaptool failed"; }
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$kr" >"$DIR/mon-mkfs.out" 2>&1 ||
    { tail_log "$DIR/mon-mkfs.out"; tail_log "$DIR/mon.a.log"; die "ceph-mon --mkfs failed"; }

  # --- mon
  start_daemon mon.a ceph-mon -c "$CONF" -i a
  wait_for mon.a "monitor quorum on 127.0.0.1:$mon_v2" cephcli quorum_status
  log "mon up ($(elapsed "$t0")s)"

  # --- osd (memstore)
  local osd_uuid
  osd_uuid="$(uuidgen)"
  cephcli osd new "$osd_uuid" 0 >"$DIR/osd-new.out" 2>&1 ||
    { cat "$DIR/osd-new.out" >&2; tail_log "$DIR/mon.a.log"; die "'ceph osd new' failed"; }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$DIR/osd-mkfs.out" 2>&1 ||
    { tail_log "$DIR/osd-mkfs.out"; tail_log "$DIR/osd.0.log"; die "ceph-osd --mkfs failed"; }
  start_daemon osd.0 ceph-osd -c "$CONF" -i 0
  wait_for osd.0 "osd.0 up" osd_is_up
  log "osd up ($(elapsed "$t0")s)"

  # --- rgw
  start_daemon rgw radosgw -c "$CONF" -n client.rgw
  wait_for rgw "radosgw answering HTTP on 127.0.0.1:$rgw_port" rgw_answers "$rgw_port"
  log "rgw up ($(elapsed "$t0")s)"

  # --- user, buckets, CORS
  radosgw-admin -c "$CONF" -n client.admin user create --uid=signpost --display-name=signpost \
    --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >"$DIR/user-create.out" 2>&1 ||
    { cat "$DIR/user-create.out" >&2; die "radosgw-admin user create failed"; }

  local b acao
  for b in "$BUCKET_A" "$BUCKET_B" "$BUCKET_NOCORS"; do
    create_bucket "$b"
  done
  for b in "$BUCKET_A" "$BUCKET_B"; do
    put_cors "$b"
    acao="$(preflight "$b")"
    [[ "$acao" == "*" || "$acao" == "$PREFLIGHT_ORIGIN" ]] ||
      die "CORS preflight (OPTIONS) on $b returned Access-Control-Allow-Origin '$acao', expected '*' or '$PREFLIGHT_ORIGIN'"
  done
  [[ -z "$(preflight "$BUCKET_NOCORS")" ]] ||
    die "CORS preflight on $BUCKET_NOCORS unexpectedly allowed the origin"

  cat >"$DIR/env.tmp" <<EOF
export SIGNPOST_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export SIGNPOST_TEST_S3_REGION=$REGION
export SIGNPOST_TEST_S3_ACCESS_KEY=$ACCESS_KEY
export SIGNPOST_TEST_S3_SECRET_KEY=$SECRET_KEY
export SIGNPOST_TEST_BUCKET_A=$BUCKET_A
export SIGNPOST_TEST_BUCKET_B=$BUCKET_B
export SIGNPOST_TEST_BUCKET_NOCORS=$BUCKET_NOCORS
EOF
  mv "$DIR/env.tmp" "$DIR/env"
  trap - EXIT
  log "ready: S3 endpoint http://127.0.0.1:$rgw_port (region $REGION), started in $(elapsed "$t0")s; env in $DIR/env"
}

# rgw_answers PORT: an S3 answer (x-amz-request-id) from radosgw, not just any
# server that happens to listen there.
rgw_answers() {
  curl -sf --max-time 2 -o /dev/null -D - "http://127.0.0.1:$1/" | tr -d '\r' |
    grep -i '^x-amz-request-id:' >/dev/null
}

osd_is_up() {
  cephcli osd stat 2>/dev/null | grep ' 1 up' >/dev/null
}

do_status() {
  local name pid rc=0 port
  for name in mon.a osd.0 rgw; do
    if pid="$(daemon_pid "$name")"; then
      echo "$name: running (pid $pid)"
    else
      echo "$name: not running"
      rc=1
    fi
  done
  if [[ -f "$CONF" ]] && daemon_pid mon.a >/dev/null; then
    cephcli -s || rc=1
  fi
  if [[ -f "$CONF" ]]; then
    port="$(sed -n 's/^rgw_frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\).*/\1/p' "$CONF")"
    if [[ -n "$port" ]] && rgw_answers "$port"; then
      echo "rgw: answering on http://127.0.0.1:$port"
    else
      echo "rgw: not answering HTTP${port:+ on http://127.0.0.1:$port}"
      rc=1
    fi
  fi
  [[ -f "$DIR/env" ]] && cat "$DIR/env"
  return "$rc"
}

case "$CMD" in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*) usage ;;
esac
