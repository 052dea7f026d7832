#!/usr/bin/env bash
# Produces the PGO profile of the guest's generated C, cached.
#
# Usage: train_profile.sh TRAINER INSTRUMENTED_LIB OUT.profdata PROGRAM.py...
#
# The profile depends only on the instrumented library and the training
# programs, so it is cached in $SNAKECAGE_CACHE_DIR/profiles under a hash of
# those (a second build on the same machine does not train again). Training
# writes one .profraw per process into a temporary directory; llvm-profdata-19
# merges them; the result is moved into the cache atomically.
set -euo pipefail
trainer=$1 lib=$2 out=$3
shift 3
cache=${SNAKECAGE_CACHE_DIR:?}/profiles
key=$( { sha256sum <"$lib"; for p in "$@"; do sha256sum <"$p"; done; llvm-profdata-19 --version | head -2; } \
       | sha256sum | cut -c1-16)
entry="$cache/$key.profdata"
mkdir -p "$cache"
if [ ! -f "$entry" ]; then
  tmp=$(mktemp -d "$cache/.train-$key.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "[snakecage] PGO: training on $# programs" >&2
  LLVM_PROFILE_FILE="$tmp/guest-%p.profraw" "$trainer" "$@" >&2
  llvm-profdata-19 merge -o "$tmp/merged.profdata" "$tmp"/guest-*.profraw
  mv -f "$tmp/merged.profdata" "$entry"
else
  echo "[snakecage] PGO: cached profile $entry" >&2
fi
cp -f "$entry" "$out.tmp" && mv -f "$out.tmp" "$out"
