#!/usr/bin/env bash
# Downloads the Debian binary packages pinned in guest/packages.lock into
# $SNAKECAGE_CACHE_DIR/debs with `apt-get download NAME=VERSION`, and checks
# each against the SHA-256 the lock names. Skips a package already there
# with the right checksum (one with another is downloaded again); a download
# with the wrong checksum is refused and removed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
lock="$here/../guest/packages.lock"
dest="$SNAKECAGE_CACHE_DIR/debs"
mkdir -p "$dest"

# _apt cannot write into root's cache: download unsandboxed, quietly.
download() { # SPEC DIR
  (cd "$2" && apt-get download -qq -o APT::Sandbox::User=root "$1" >/dev/null 2>"$2.err")
}

updated=0
while read -r spec sha256 rest; do
  case "$spec" in ''|'#'*) continue ;; esac
  [ -n "$sha256" ] && [ -z "$rest" ] || snakecage_die "$lock: malformed line: $spec $sha256 $rest"
  file=$(snakecage_deb_path "$spec")
  if [ -f "$file" ] && [ "$(sha256sum <"$file" | cut -c1-64)" = "$sha256" ]; then
    continue
  fi
  snakecage_log "fetching package $spec"
  tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
  # The package lists may be older than the pin: update them once and retry.
  if ! download "$spec" "$tmp"; then
    if [ "$updated" = 0 ]; then
      snakecage_log "apt-get download $spec failed; apt-get update and retry"
      snakecage_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      updated=1
    fi
    download "$spec" "$tmp" || {
      cat "$tmp.err" >&2; rm -rf "$tmp" "$tmp.err"
      snakecage_die "apt-get download $spec failed (is the pinned version still in the archive?)"
    }
  fi
  rm -f "$tmp.err"
  got="$tmp/$(basename "$file")"
  [ -f "$got" ] || { rm -rf "$tmp"; snakecage_die "apt-get download $spec did not write $(basename "$file")"; }
  actual=$(sha256sum <"$got" | cut -c1-64)
  if [ "$actual" != "$sha256" ]; then
    rm -rf "$tmp"
    snakecage_die "package $spec has SHA-256 $actual, guest/packages.lock pins $sha256"
  fi
  mv -f "$got" "$file"
  rmdir "$tmp"
done <"$lock"
