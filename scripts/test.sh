#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs every test: Rust, JavaScript (node --test), the
# stub check, Python (unit, integration, browser, deployment) and the quick benchmark run.
# Every stage runs even when an earlier one fails; the exit code says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
DOCSYNC_EXTRAS=test,bench ./scripts/setup.sh || exit 1
export PATH="$PWD/.venv/bin:$PATH"

failed=()
stage() {
    local name="$1"; shift
    echo "== $name"
    local start=$SECONDS
    if "$@"; then
        echo "-- $name: ok ($((SECONDS - start)) s)"
    else
        echo "-- $name: FAILED ($((SECONDS - start)) s)"
        failed+=("$name")
    fi
}

stage "cargo test" cargo test -q -p docsync-core
stage "node --test" node --test tests/js/
stage "mypy.stubtest" python -m mypy.stubtest docsync._core --allowlist tests/stubtest-allowlist.txt
stage "mypy" python -m mypy python/docsync
# Playwright's sync API keeps an event loop in the main thread, so browser tests get a
# pytest process of their own (tests/conftest.py marks them).
stage "pytest (no browser)" python -m pytest -q -p no:cacheprovider -m "not browser" "$@"
stage "pytest (browser)" python -m pytest -q -p no:cacheprovider -m browser "$@"
stage "benches --quick" python -m benches --quick

if [ ${#failed[@]} -gt 0 ]; then
    echo "FAILED stages: ${failed[*]}"
    exit 1
fi
echo "all tests passed"
