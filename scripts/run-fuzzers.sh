#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzzing build tree for a while each.
#
#   scripts/run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# Seeds come from fuzz/corpus/<target>/ (read only); what a run adds to the
# corpus goes to BUILD_DIR/fuzz/corpus/<target>/, and a finding (a crash,
# a sanitizer report, a broken invariant, a leak) to
# BUILD_DIR/fuzz/findings/<target>-*; make it a seed in fuzz/corpus/ once
# fixed, so ctest keeps running it. Prints one line per target: runs,
# coverage, corpus size; exits 1 when any target found something.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
src=$(cd "$here/.." && pwd)
[ $# -ge 2 ] || snakecage_die "usage: $0 BUILD_DIR SECONDS [TARGET...]"
build=$(cd "$1" && pwd)
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/bin/fuzz_*; do targets+=("$(basename "$f")"); done
fi
[ ${#targets[@]} -gt 0 ] || snakecage_die "no fuzz_* programs in $build/bin (configure with -DSNAKECAGE_FUZZ=ON)"

failed=0
for t in "${targets[@]}"; do
  corpus=$build/fuzz/corpus/$t
  findings=$build/fuzz/findings
  mkdir -p "$corpus" "$findings"
  log=$build/fuzz/$t.log
  snakecage_log "fuzz: $t for ${seconds}s"
  if "$build/bin/$t" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$findings/$t-" "$corpus" "$src/fuzz/corpus/$t" >"$log" 2>&1; then
    status=ok
  else
    status=FOUND
    failed=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-24s %-6s runs %-10s cov %-6s corpus %s\n' "$t" "$status" "${runs:-?}" "${cov:-?}" \
    "$(find "$corpus" "$src/fuzz/corpus/$t" -type f | wc -l)"
  if [ $status = FOUND ]; then
    grep -E 'ERROR|SUMMARY|deadly|Test unit written' "$log" | head -5 >&2 || true
  fi
done
exit $failed
