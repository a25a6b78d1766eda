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
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-test-deps: all test dependencies already installed"
  exit 0
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
