#!/usr/bin/env bash
# Builds what the guest sees of the Debian packages in guest/packages.lock:
#   dist-packages/  their pure-Python files, byte-compiled; read-only at
#                   /usr/local/lib/python3.11/dist-packages
#   zoneinfo/       the time-zone database (tzdata); read-only at /usr/share/zoneinfo
#   licenses/NAME/  each Debian package's copyright file
#   packages.json   what is importable, its version and where it came from
#                   (guest/package_manifest.py; `snakecage packages` reads it)
#
# Usage: guest/build-packages.sh OUT_DIR
#        guest/build-packages.sh --print-key
#   The result is the cache entry $SNAKECAGE_CACHE_DIR/packages/<hash of every
#   input>, built in a temporary directory and renamed into place; OUT_DIR
#   gets links to its directories and a copy of packages.json. The .debs
#   come from scripts/fetch-packages.sh.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../scripts/common.sh"

out=${1:?usage: build-packages.sh OUT_DIR}
lock="$here/packages.lock"
# The guest is CPython 3.11.2; Debian's python3.11 of the same version writes
# the same bytecode (and a different one is refused by the guest's import:
# the magic number is checked).
host_python=/usr/bin/python3.11
guest_dist_packages=/usr/local/lib/python3.11/dist-packages

specs=$(grep -Ev '^(#|$)' "$lock")

key=$(
  {
    cat "$here/build-packages.sh" "$here/package_manifest.py" "$lock" "$here"/patches/*/*.patch
    dpkg-query -W -f='${Version}\n' python3.11
  } | sha256sum | cut -c1-16
)
entry="$SNAKECAGE_CACHE_DIR/packages/$key"
if [ "$out" = --print-key ]; then echo "$key"; exit 0; fi

# OUT_DIR/packages.json is a fresh copy (its mtime tells the build it is
# new); the directories are links into the cache entry.
link_out() {
  mkdir -p "$out"
  local part
  for part in dist-packages zoneinfo licenses; do
    ln -sfn "$entry/$part" "$out/$part.tmp-link" && mv -Tf "$out/$part.tmp-link" "$out/$part"
  done
  cp -f "$entry/packages.json" "$out/packages.json.tmp" && mv -f "$out/packages.json.tmp" "$out/packages.json"
}

if [ -f "$entry/packages.json" ]; then
  snakecage_log "guest packages: cache hit ($entry)"
  link_out
  exit 0
fi

mkdir -p "$SNAKECAGE_CACHE_DIR/packages"
exec 9>"$SNAKECAGE_CACHE_DIR/packages/.lock"
flock 9
if [ -f "$entry/packages.json" ]; then link_out; exit 0; fi
rm -rf "$SNAKECAGE_CACHE_DIR"/packages/.build-*
work=$(mktemp -d "$SNAKECAGE_CACHE_DIR/packages/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
snakecage_log "guest packages: building into $entry"

# Every .deb must be the one the lock pins (fetch-packages.sh checked it
# when it downloaded; check again, the cache is writable by others).
mkdir -p "$work/out/dist-packages" "$work/out/licenses" "$work/debs"
while read -r spec sha256; do
  deb=$(snakecage_deb_path "$spec")
  [ -f "$deb" ] || snakecage_die "package $spec missing: run scripts/install-deps.sh"
  [ "$(sha256sum <"$deb" | cut -c1-64)" = "$sha256" ] \
    || snakecage_die "$deb does not have the SHA-256 guest/packages.lock pins"
  name=${spec%%=*}; name=${name%%:*}
  dpkg-deb -x "$deb" "$work/debs/$name"
  dpkg-deb -f "$deb" Package Version Source >"$work/debs/$name.control"
  mkdir -p "$work/out/licenses/$name"
  cp "$work/debs/$name/usr/share/doc/$name/copyright" "$work/out/licenses/$name/"
  if [ -d "$work/debs/$name/usr/lib/python3/dist-packages" ]; then
    cp -a "$work/debs/$name/usr/lib/python3/dist-packages/." "$work/out/dist-packages/"
  fi
  if [ -d "$work/debs/$name/usr/share/zoneinfo" ]; then
    cp -a "$work/debs/$name/usr/share/zoneinfo" "$work/out/zoneinfo"
  fi
done <<<"$specs"
[ -d "$work/out/zoneinfo" ] || snakecage_die "no package in guest/packages.lock provides usr/share/zoneinfo"

# Our patches (guest/patches/NAME/*.patch, against dist-packages, -p1):
# each says why in its header.
for patch in "$here"/patches/*/*.patch; do
  [ -f "$patch" ] || continue
  patch -s -p1 -d "$work/out/dist-packages" --no-backup-if-mismatch <"$patch" \
    || snakecage_die "patch $patch does not apply"
done

# Host-architecture C extensions cannot load in the guest (no dlopen, and
# not WebAssembly): drop them. The manifest step checks that each package
# still imports, through its pure-Python code.
find "$work/out/dist-packages" -name '*.so' -delete
# The zone database must stay inside its mount: a symlink that is absolute
# or climbs out would be refused by the guest's filesystem. localtime points
# at the host's /etc/localtime; the guest has none (its time zone is UTC).
rm -f "$work/out/zoneinfo/localtime"
if bad=$(find "$work/out/zoneinfo" -type l -lname '/*' -print -quit) && [ -n "$bad" ]; then
  snakecage_die "tzdata has an absolute symlink: $bad"
fi

# Byte-compile for the guest's path: tracebacks name the file as the guest
# sees it, and unchecked-hash .pyc files are used without reading or even
# stat-ing the source (it is read-only anyway) and do not depend on mtimes.
"$host_python" -m compileall -q -j "${SNAKECAGE_JOBS:-$(nproc)}" \
  --invalidation-mode unchecked-hash -d "$guest_dist_packages" \
  "$work/out/dist-packages" >/dev/null \
  || snakecage_die "byte-compiling dist-packages failed"

"$host_python" "$here/package_manifest.py" --debs "$work/debs" \
  --dist-packages "$work/out/dist-packages" --zoneinfo "$work/out/zoneinfo" \
  >"$work/out/packages.json.tmp" || snakecage_die "package manifest failed"
mv "$work/out/packages.json.tmp" "$work/out/packages.json"

chmod -R a+rX,go-w "$work/out"
mv -T "$work/out" "$entry.partial"
mv -T "$entry.partial" "$entry"
snakecage_log "guest packages built: $entry"
link_out
