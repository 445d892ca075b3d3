#!/usr/bin/env bash
# Install preserveplan with the system tools it uses (Debian/Ubuntu), into ./.venv.
#   ./setup.sh         runtime: system tools (apt-get, only what is missing) + preserveplan
#   ./setup.sh --dev   the same plus the test and lint tools
set -euo pipefail
cd "$(dirname "$0")"

extra="sample"
[ "${1:-}" = "--dev" ] && extra="test"

# command (or file) that shows the tool is there -> Debian package that brings it
tools=(
  "soffice:libreoffice-writer-nogui"
  "soffice:libreoffice-calc-nogui"
  "soffice:libreoffice-impress-nogui"
  "gs:ghostscript"
  "ffmpeg:ffmpeg"
  "convert-im6.q16:imagemagick"
  "chromium:chromium"
  "sqlite3:sqlite3"
  "msgconvert:libemail-outlook-message-perl"
  "pdftoppm:poppler-utils"
)
missing=()
for pair in "${tools[@]}"; do
  cmd=${pair%%:*} pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 || ! dpkg -s "$pkg" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done
# fonts: metric-compatible with Calibri/Cambria, or office documents reflow when converted;
# libemail-address-perl: msgconvert dies without it on Debian 12;
# python3-uno: Debian's python drives one persistent LibreOffice per worker (uno_bridge.py)
for pkg in libarchive13 fonts-dejavu-core fonts-liberation2 fonts-crosextra-carlito \
  fonts-crosextra-caladea python3-venv libemail-address-perl python3-uno; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || { echo "setup: Python 3.11 or newer is needed ($python is older)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q -e ".[$extra]" 2>&1 | grep -v "is ignored" || true
.venv/bin/preserveplan --version >/dev/null \
  || { echo "setup: preserveplan did not install" >&2; exit 1; }
echo "setup: ready ($(.venv/bin/preserveplan --version | head -1); tools in .venv/bin)"
