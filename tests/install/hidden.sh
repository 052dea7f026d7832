# Sourced by the install tests. run_hidden DIR... -- COMMAND...: runs COMMAND
# in a private mount namespace where each existing DIR (the build tree, the
# cache, the source tree) is covered by an empty tmpfs, so an installed
# snakecage that still used any of them fails.
run_hidden() {
  local dirs=()
  while [ "$1" != -- ]; do dirs+=("$1"); shift; done
  shift
  unshare --mount --propagation private -- bash -c '
    set -e
    n=$1; shift
    for ((i = 0; i < n; i++)); do
      if [ -d "$1" ]; then mount -t tmpfs -o ro none "$1"; fi
      shift
    done
    exec "$@"' run_hidden "${#dirs[@]}" "${dirs[@]}" "$@"
}

fail() { echo "FAILED: $*" >&2; exit 1; }

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
  if [ "$2" != "$3" ]; then
    printf 'FAILED: %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3" >&2
    exit 1
  fi
}
