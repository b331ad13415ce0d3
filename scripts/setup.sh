#!/usr/bin/env bash
# Idempotent set-up: Debian packages (only those missing), the venv, the project with dev extras.
# Quiet when nothing is missing. Safe to run on every `make` target.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build

DEB_PACKAGES=(
  pcscd vsmartcard-vpcd python3-virtualsmartcard libpcsclite-dev swig gcc libc6-dev pkg-config
  ghostscript libgs-dev fonts-ipaexfont opensc cups-ipp-utils chromium
)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi

# The Debian virtualsmartcard library lives outside any sys.path the venv sees.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "/usr/lib/python3/site-packages/virtualsmartcard" > "$site/debian-virtualsmartcard.pth"

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its dev extras into .venv"
  mkdir -p build
  if ! .venv/bin/pip install -q -e '.[dev]' >build/setup-pip.log 2>&1; then
    tail -40 build/setup-pip.log >&2
    echo "setup: pip install failed (full log: build/setup-pip.log)" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The rig's reader driver: vpcd with a card-event wait for pcscd (docs/reader-stack.md). Built
# again only when its source changes; the pcscd the rig starts next loads it.
driver_src=rig/core/pcsc/driver/rig_vpcd_wait.c
driver=build/pcsc/librigvpcd.so
if [ ! -f "$driver" ] || [ "$driver_src" -nt "$driver" ]; then
  mkdir -p build/pcsc
  gcc -shared -fPIC -O2 -Wall -Wextra -Werror $(pkg-config --cflags libpcsclite) \
    -o "$driver.tmp" "$driver_src" -ldl -lpthread
  mv "$driver.tmp" "$driver"
fi

# The Allure 3 report generator (npm package `allure`, no Java needed), pinned by package-lock.json.
if [ ! -x node_modules/.bin/allure ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "setup: installing the Allure 3 report generator (npm)"
    npm ci --no-audit --no-fund --loglevel=error >build/setup-npm.log 2>&1 \
      || { tail -20 build/setup-npm.log >&2; echo "setup: npm ci failed (see build/setup-npm.log)" >&2; exit 1; }
  else
    echo "setup: npm not found: the Allure HTML report will be skipped (rig's own report still works)" >&2
  fi
fi
