#!/usr/bin/env bash
# cmake --install into a temporary prefix, moved after installing (nothing
# may remember where it was installed); then, with the build tree, the cache
# and the source tree hidden, the installed CLI runs code and the example
# consumer (examples/consumer), built against the prefix with the CMake
# package and with pkg-config, runs code through libsnakecage.so.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR CACHE_DIR CXX
set -euo pipefail
build=$1 source=$2 cache=$3 cxx=$4
. "$(dirname "$0")/hidden.sh"

work=$(mktemp -d /tmp/snakecage-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/installed" >/dev/null
mv "$work/installed" "$work/prefix"
prefix=$work/prefix

# Public headers only: exactly include/snakecage/*.h and the generated
# version.h.
expected_headers=$( (cd "$source/include" && ls snakecage/*.h; echo snakecage/version.h) | sort)
actual_headers=$(cd "$prefix/include" && find . -type f | sed 's|^\./||' | sort)
expect_eq "installed headers" "$expected_headers" "$actual_headers"
for f in bin/snakecage libexec/snakecage/snakecage-zygote libexec/snakecage/snakecage-http \
         lib/libsnakecage.so \
         share/snakecage/lib/python3.11/os.py share/snakecage/packages/packages.json \
         share/snakecage/packages/dist-packages/yaml/__init__.py \
         share/snakecage/packages/zoneinfo/Europe/Paris \
         lib/cmake/snakecage/snakecageConfig.cmake lib/pkgconfig/snakecage.pc; do
  [ -e "$prefix/$f" ] || fail "the prefix lacks $f"
done
# The default start-up's snapshot (engine/startup_snapshot.h), whole.
snapshots=("$prefix"/share/snakecage/snapshots/startup-*.snapshot)
[ "${#snapshots[@]}" -eq 1 ] && [ -f "${snapshots[0]}" ] || fail "the prefix lacks the start-up snapshot"
cmp -s "${snapshots[0]}" "$build/share/snakecage/snapshots/$(basename "${snapshots[0]}")" ||
  fail "the installed start-up snapshot differs from the build's"

# The example consumer, both ways, built while the sources are visible.
cmake -S "$source/examples/consumer" -B "$work/consumer-cmake" -G Ninja \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_PREFIX_PATH="$prefix" >"$work/cmake.log" 2>&1 ||
  { cat "$work/cmake.log" >&2; fail "configuring the consumer with find_package"; }
cmake --build "$work/consumer-cmake" >>"$work/cmake.log" 2>&1 ||
  { cat "$work/cmake.log" >&2; fail "building the consumer with find_package"; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
libdir=$(pkg-config --variable=libdir snakecage)
# shellcheck disable=SC2046
"$cxx" "$source/examples/consumer/main.cc" $(pkg-config --cflags --libs snakecage) \
  -Wl,-rpath,"$libdir" -o "$work/consumer-pkgconfig" ||
  fail "building the consumer with pkg-config"

hidden=("$build" "$cache" "$source" --)
program='import zoneinfo, yaml
print(2 + 2, zoneinfo.ZoneInfo("Europe/Paris").key, yaml.safe_dump({"a": 1}).strip())'

out=$(run_hidden "${hidden[@]}" "$prefix/bin/snakecage" run -c "$program")
expect_eq "installed CLI, run" "4 Europe/Paris a: 1" "$out"

out=$(run_hidden "${hidden[@]}" "$prefix/bin/snakecage" packages --json |
      python3 -c 'import json, sys; print(sorted(p["name"] for p in json.load(sys.stdin)["data"]))')
expect_eq "installed CLI, packages" "['tzdata']" "$out"

for consumer in "$work/consumer-cmake/consumer" "$work/consumer-pkgconfig"; do
  out=$(run_hidden "${hidden[@]}" "$consumer" 'print(6 * 7)' |
        python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["success"], repr(r["stdout"]))')
  expect_eq "$consumer" "True '42\\n'" "$out"
done

# Neither the CLI nor the library loads cpp-httplib (and with it OpenSSL):
# only snakecage-http does.
for f in bin/snakecage lib/libsnakecage.so; do
  if readelf -d "$prefix/$f" | grep NEEDED | grep -q 'httplib\|libssl\|libcrypto'; then
    fail "$f loads cpp-httplib or OpenSSL"
  fi
done
readelf -d "$prefix/libexec/snakecage/snakecage-http" | grep NEEDED | grep -q httplib ||
  fail "snakecage-http does not link cpp-httplib"

# `serve` is handed over to libexec/snakecage/snakecage-http, which checks
# --listen: its refusal shows the hand-over found the moved prefix's.
set +e
err=$(run_hidden "${hidden[@]}" "$prefix/bin/snakecage" serve --listen nonsense 2>&1 >/dev/null)
rc=$?
set -e
expect_eq "installed CLI, serve --listen nonsense: exit status" 2 "$rc"
case "$err" in
  *"--listen: expected HOST:PORT"*) ;;
  *) fail "the installed serve did not check --listen: $err" ;;
esac

# A wrong $SNAKECAGE_PREFIX is refused naming it, not ignored.
mkdir "$work/empty"
set +e
err=$(SNAKECAGE_PREFIX="$work/empty" "$prefix/bin/snakecage" run -c 'print(1)' 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a wrong SNAKECAGE_PREFIX was accepted"
case "$err" in
  *"$work/empty"*"os.py is missing"*SNAKECAGE_PREFIX*) ;;
  *) fail "the refusal of a wrong SNAKECAGE_PREFIX does not name it: $err" ;;
esac
echo "install_test: ok"
