#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and serves the example gallery on http://localhost:5006/
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "gallery: open http://localhost:5006/ (index of every example)"
exec .venv/bin/python -m docsync serve examples/gallery "$@"
