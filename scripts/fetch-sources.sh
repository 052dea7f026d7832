#!/usr/bin/env bash
# Downloads the Debian source packages pinned in guest/sources.lock into
# $SNAKECAGE_CACHE_DIR/sources with `apt-get source --download-only`.
# Skips a package already fetched and verified.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
lock="$here/../guest/sources.lock"
dest="$SNAKECAGE_CACHE_DIR/sources"
mkdir -p "$dest"

while read -r spec; do
  case "$spec" in ''|'#'*) continue ;; esac
  name=${spec%%=*}
  version=${spec#*=}
  upstream_version=${version#*:}   # the .dsc file name carries no epoch
  dsc="$dest/${name}_${upstream_version}.dsc"
  # The .ok marker is written only after dpkg-source verified the files.
  [ -f "$dsc.ok" ] && continue
  snakecage_log "fetching source $spec"
  tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
  (cd "$tmp" && apt-get source --download-only -qq "$spec" >/dev/null 2>"$tmp.err") || {
    cat "$tmp.err" >&2; rm -rf "$tmp" "$tmp.err"
    snakecage_die "apt-get source --download-only $spec failed (is there a deb-src entry? run scripts/install-deps.sh)"
  }
  rm -f "$tmp.err"
  # Verify the checksums the .dsc lists before accepting the files.
  (cd "$tmp" && dpkg-source --no-copy -x "$(basename "$dsc")" check >/dev/null 2>&1) || {
    rm -rf "$tmp"; snakecage_die "source $spec failed its checksum check"
  }
  rm -rf "$tmp/check"
  mv -f "$tmp"/* "$dest"/
  rmdir "$tmp"
  touch "$dsc.ok"
done <"$lock"
