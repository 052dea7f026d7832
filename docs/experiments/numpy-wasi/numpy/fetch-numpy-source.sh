#!/usr/bin/env bash
# Unpacks Debian's numpy source package (pinned below) with Debian's patches.
#
# Usage: guest/numpy/fetch-numpy-source.sh DIR [NUMPY_GIT_DIR]
#   Leaves the patched tree in DIR/numpy-1.24.2.
#
# The archive's numpy_1.24.2.orig.tar.xz answered 404 when this was written
# (the .dsc and .debian.tar.xz were there). Given NUMPY_GIT_DIR (a clone of
# upstream numpy), the upstream tree is then taken from the tag
# v1.24.2 (`git archive`, which expands numpy/_version.py's keywords as an
# sdist would) and Debian's patches from the .debian.tar.xz are applied to
# it in the order of debian/patches/series. That tree lacks only what
# upstream's sdist adds: the SVML submodule (x86_64 AVX-512 code, disabled
# for wasm32 anyway) and PKG-INFO.
set -euo pipefail
dir=$(realpath "${1:?usage: fetch-numpy-source.sh DIR [NUMPY_GIT_DIR]}")
git_dir=${2:-}
version=1:1.24.2-1+deb12u1
upstream=1.24.2
dsc=numpy_${version#*:}.dsc
mkdir -p "$dir"
cd "$dir"
rm -rf "numpy-$upstream"
apt-get source --download-only "numpy=$version" || true
if [ -f "numpy_$upstream.orig.tar.xz" ]; then
  dpkg-source -x "$dsc" "numpy-$upstream"
  exit 0
fi
[ -f "numpy_${version#*:}.debian.tar.xz" ] || { echo "no Debian packaging for numpy $version" >&2; exit 1; }
[ -n "$git_dir" ] || { echo "the orig tarball is missing: give a numpy git clone" >&2; exit 1; }
echo "orig tarball missing: using tag v$upstream from $git_dir" >&2
git -C "$git_dir" archive --prefix="numpy-$upstream/" "v$upstream" | tar -x
tar -x -C "numpy-$upstream" -f "numpy_${version#*:}.debian.tar.xz"
while read -r p; do
  case $p in ''|'#'*) continue ;; esac
  patch -d "numpy-$upstream" -p1 --no-backup-if-mismatch -s <"numpy-$upstream/debian/patches/$p"
done <"numpy-$upstream/debian/patches/series"
