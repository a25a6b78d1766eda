#!/usr/bin/env bash
# Installs the Debian packages the real-S3 test suite needs (single-node Ceph
# with radosgw, headless Chromium + chromedriver, curl). Idempotent and fast
# when everything is already present: dpkg-query is checked first and apt-get
# only runs when a package is missing.
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
  python3        # free-port picking and Content-MD5 in scripts/ceph.sh
  python3-venv   # the venv of PyPI clients below (signpost store tests)
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

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

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-deps: all test dependencies already installed"
  install_py_clients
  exit $?
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
echo "install-test-deps: done"
install_py_clients
