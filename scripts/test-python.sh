#!/usr/bin/env bash
# The Python package's tests, as a user meets the package: built by pip
# from python/ into a fresh venv (Debian's setuptools and pybind11, no
# index), then its pytest suite run from another directory, then one
# execution with the build tree, the cache and the source tree hidden.
#
#   scripts/test-python.sh [BUILD_DIR]           (default: build)
#   scripts/test-python.sh --bench [BUILD_DIR]   build it, run bench/python_binding.py instead
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
. "$here/../tests/install/hidden.sh"
src=$(cd "$here/.." && pwd)
bench=0
if [ "${1:-}" = --bench ]; then bench=1; shift; fi
build=$(cd "${1:-$src/build}" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"; rm -rf "$src/python/build" "$src"/python/*.egg-info' EXIT
venv=$work/venv

snakecage_log "python: building the package into a venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
SNAKECAGE_BUILD_DIR=$build "$venv/bin/pip" install --quiet --no-build-isolation --no-index \
  --no-cache-dir "$src/python"
# setuptools' in-tree temporary files go: the installed package must not need them.
rm -rf "$src/python/build" "$src"/python/*.egg-info

if [ "$bench" = 1 ]; then
  (cd "$work" && "$venv/bin/python" "$src/bench/python_binding.py")
  exit 0
fi

snakecage_log "python: pytest"
mkdir "$work/run"
(cd "$work/run" && SNAKECAGE_CLI=$build/bin/snakecage \
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "$src/python/tests")

snakecage_log "python: an execution with the build tree, cache and sources hidden"
out=$(run_hidden "$build" "$SNAKECAGE_CACHE_DIR" "$src" -- \
  "$venv/bin/python" -c '
import sys, snakecage
sandbox = snakecage.create_sandbox(workspace_root=sys.argv[1])
r = sandbox.execute("import json, zoneinfo\nprint(json.dumps([zoneinfo.ZoneInfo(\"Europe/Paris\").key]))")
print(r.stdout, end="")
sys.exit(0 if r.success else 1)' "$work/hidden-sessions")
expect_eq "output with everything but the installed package hidden" '["Europe/Paris"]' "$out"
snakecage_log "python: ok"
