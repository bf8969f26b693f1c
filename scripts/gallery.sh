#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and serves the example gallery on http://localhost:5006/
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m docsync serve --show examples/gallery "$@"
