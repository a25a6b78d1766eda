#!/usr/bin/env bash
# Installs the Debian packages the real-S3 test suite needs (single-node Ceph
# with radosgw, headless Chromium + chromedriver, curl, Node.js), then the
# JavaScript test clients in tests/js with `npm ci`. Idempotent and fast when
# everything is already present: dpkg-query is checked first and apt-get only
# runs when a package is missing; npm ci only runs when tests/js/node_modules
# does not match package-lock.json.
set -euo pipefail

PACKAGES=(
  radosgw
  ceph-mon
  ceph-osd
  ceph-base      # monmaptool
  ceph-common    # ceph CLI, ceph-authtool, radosgw-admin
  uuid-runtime   # uuidgen
  chromium
  chromium-driver
  curl
  python3-venv   # the venv of PyPI clients below (signpost store tests)
  python3        # free-port picking and Content-MD5 in scripts/ceph.sh
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

# --- JavaScript test clients: Node.js and npm --------------------------------
# Debian's `nodejs` and `npm` when either command is missing. The commands are
# checked rather than dpkg: a Node.js from another source bundles its own npm,
# and Debian's `npm` package would conflict with it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
# --- end of JavaScript test clients: Node.js and npm ------------------------

install_apt_packages() {
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-test-deps: all Debian packages already installed"
    return 0
  fi

  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      echo "install-test-deps: ERROR: not root and sudo is not available; missing packages: ${missing[*]}" >&2
      echo "install-test-deps: run this script as root, or install them: apt-get install -y --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  fi

  echo "install-test-deps: installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get update -q; then
    echo "install-test-deps: ERROR: apt-get update failed; check network access to the Debian mirrors" >&2
    exit 1
  fi
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "install-test-deps: ERROR: apt-get install failed for: ${missing[*]}" >&2
    echo "install-test-deps: see the apt output above; try 'apt-get update' and re-run" >&2
    exit 1
  fi
  echo "install-test-deps: apt packages installed"
}
install_apt_packages

# === JavaScript test clients (tests/js): npm ci =============================
# Installs the pinned packages of tests/js/package-lock.json (Uppy 6, esbuild,
# oidc-provider, axe-core, aws-sdk-js) and of tests/js/uppy5/package-lock.json
# (Uppy 5, a package of its own: @uppy/aws-s3 5 needs @uppy/core 5 as a peer).
# Skipped for a folder whose node_modules was installed from this very lock file
# by this Node.js: the SHA-256 of package.json, package-lock.json and
# `node --version` is stored in node_modules/.signpost-installed and compared.
# `--ignore-scripts`: no package needs its install script (esbuild finds its
# binary in @esbuild/linux-x64).
install_js_clients() {
  local dir stamp want have
  dir="$1"
  stamp="$dir/node_modules/.signpost-installed"
  want="$(cat "$dir/package.json" "$dir/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)"
  have="$(cat "$stamp" 2>/dev/null || true)"
  if [[ "$want" == "$have" ]]; then
    echo "install-test-deps: $dir/node_modules matches package-lock.json"
    return 0
  fi
  echo "install-test-deps: npm ci in $dir (node $(node --version), npm $(npm --version))"
  if ! (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund); then
    echo "install-test-deps: ERROR: npm ci failed in $dir; see npm's output above (the npm registry must be reachable)" >&2
    exit 1
  fi
  echo "$want" >"$stamp"
}
JS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/tests/js"
install_js_clients "$JS_ROOT"
install_js_clients "$JS_ROOT/uppy5"
# === end of JavaScript test clients ==========================================

# ---- signpost store clients (PyPI awscli + boto3 in a venv) -------------------
# Tests that drive `signpost store` with the AWS CLI and boto3 look for them in
# $SIGNPOST_TEST_VENV (default ~/.cache/signpost-test-venv). Idempotent: pip runs
# only when the pinned versions are not there yet.
SIGNPOST_TEST_VENV="${SIGNPOST_TEST_VENV:-$HOME/.cache/signpost-test-venv}"
PY_CLIENTS=(awscli==1.46.2 boto3==1.44.8)
install_py_clients() {
  local want have
  want="$(printf '%s\n' "${PY_CLIENTS[@]}" | sort)"
  if [[ -x "$SIGNPOST_TEST_VENV/bin/python" ]]; then
    have="$("$SIGNPOST_TEST_VENV/bin/python" -m pip freeze 2>/dev/null | grep -iE '^(awscli|boto3)==' | sort || true)"
    if [[ "$have" == "$want" ]]; then
      echo "install-test-deps: awscli and boto3 already in $SIGNPOST_TEST_VENV"
      return 0
    fi
  fi
  echo "install-test-deps: installing ${PY_CLIENTS[*]} into $SIGNPOST_TEST_VENV"
  if ! python3 -m venv "$SIGNPOST_TEST_VENV"; then
    echo "install-test-deps: ERROR: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
    return 1
  fi
  if ! "$SIGNPOST_TEST_VENV/bin/python" -m pip install -q "${PY_CLIENTS[@]}"; then
    echo "install-test-deps: ERROR: pip could not install ${PY_CLIENTS[*]}; check network access to PyPI" >&2
    return 1
  fi
}
# ---- end of signpost store clients ------------------------------------------
install_py_clients

echo "install-test-deps: done"
