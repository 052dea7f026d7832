#!/usr/bin/env bash
# The .deb that `make package` makes (CPack, packaging/CMakeLists.txt): its
# control fields, its files under /usr, and, extracted into a temporary root
# with the build tree, the cache and the source tree hidden, an execution
# from its CLI.
#
# usage: deb_test.sh BUILD_DIR SOURCE_DIR CACHE_DIR
set -euo pipefail
build=$1 source=$2 cache=$3
. "$(dirname "$0")/hidden.sh"

work=$(mktemp -d /tmp/snakecage-deb-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

(cd "$work" && cpack --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log" >&2; fail "cpack"; }
debs=("$work"/out/*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made ${#debs[@]} .deb files"
deb=${debs[0]}

expect_eq "Package" snakecage "$(dpkg-deb -f "$deb" Package)"
expect_eq "Architecture" "$(dpkg --print-architecture)" "$(dpkg-deb -f "$deb" Architecture)"
depends=$(dpkg-deb -f "$deb" Depends)
for needed in libseccomp2 libtomlplusplus3 libcpp-httplib0.11 libstdc++6 nlohmann-json3-dev; do
  case ", $depends," in
    *", $needed "*|*", $needed,"*) ;;
    *) fail "Depends lacks $needed: $depends" ;;
  esac
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/snakecage ./usr/libexec/snakecage/snakecage-zygote \
         ./usr/libexec/snakecage/snakecage-http \
         ./usr/share/snakecage/lib/python3.11/os.py ./usr/include/snakecage/sandbox.h \
         ./usr/lib/cmake/snakecage/snakecageConfig.cmake ./usr/lib/pkgconfig/snakecage.pc; do
  grep -qxF "$f" <<<"$files" || fail "the .deb lacks $f"
done
grep -qx '\./usr/share/snakecage/snapshots/startup-[0-9a-f]*\.snapshot' <<<"$files" ||
  fail "the .deb lacks the start-up snapshot"
# Everything under /usr's usual directories; headers only from include/snakecage/.
stray=$(grep -v '^\./usr/$\|^\./$\|^\./usr/\(bin\|lib\|libexec\|share\)/' <<<"$files" |
        grep -v '^\./usr/include/$\|^\./usr/include/snakecage/$\|^\./usr/include/snakecage/[^/]*\.h$' || true)
[ -z "$stray" ] || fail "the .deb installs unexpected files: $stray"

dpkg-deb -x "$deb" "$work/root"
out=$(run_hidden "$build" "$cache" "$source" -- "$work/root/usr/bin/snakecage" run \
      -c 'import datetime, zoneinfo
print(datetime.datetime(2026, 7, 1, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo")).utcoffset())')
expect_eq "the extracted .deb's CLI" "9:00:00" "$out"
echo "deb_test: ok"
