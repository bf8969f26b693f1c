#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: Rust, Python (unit, integration,
# browser, deployment), JavaScript (node --test), the stub check and the quick benchmark run.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCSYNC_EXTRAS=test,bench ./scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== cargo test"
cargo test -q -p docsync-core

echo "== node --test"
node --test tests/js/

echo "== mypy.stubtest"
python -m mypy.stubtest docsync._core --allowlist tests/stubtest-allowlist.txt

echo "== pytest"
python -m pytest -q -p no:cacheprovider "$@"

echo "== benches --quick"
python -m benches --quick
echo "all tests passed"
