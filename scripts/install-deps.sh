#!/usr/bin/env bash
# Installs everything snakecage needs on a Debian bookworm machine: the
# toolchains and libraries as Debian packages, the Debian source packages
# the guest interpreter is built from (guest/sources.lock) and the binary
# packages whose Python files and time-zone data the guest sees
# (guest/packages.lock; downloaded, never installed).
#
# Idempotent: a second run installs nothing new and downloads nothing new.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"

packages=(
  # host build
  cmake ninja-build pkg-config clang-19 lld-19 llvm-19
  # clang-19's profile runtime: profile-guided optimisation of the generated C
  libclang-rt-19-dev
  # guest toolchain: wasm32-wasi cross compiler, libc and builtins
  wasi-libc libclang-rt-19-dev-wasm32
  # CPython's cross build needs a native CPython of the same minor version;
  # the benchmarks compare against it too. SQLite's amalgamation needs tclsh.
  python3.11 tcl
  # WABT: wasm2c, wat2wasm, libwabt (fuel metering is written on it)
  wabt
  # host libraries
  libseccomp-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  # the HTTP server (snakecage serve); nginx in front of several of them
  # (examples/nginx, tests/server/cluster_test.cc)
  libcpp-httplib-dev nginx
  libgtest-dev libgmock-dev libbenchmark-dev
  # apt-get source; dpkg-shlibdeps for the .deb's dependencies (make package)
  dpkg-dev xz-utils
  # the Python package (python/): built with Debian's pybind11 and
  # setuptools into a venv by pip, no index; tested with Debian's pytest,
  # its logger with and without structlog
  python3-dev pybind11-dev python3-pybind11 python3-setuptools python3-wheel
  python3-pip python3-venv python3-pytest python3-structlog
)
# The MCP end-to-end test (tests/server) runs the official MCP SDK client on
# Node.js and installs it with npm. Debian's nodejs + npm only when no npm is
# installed (some machines have both from NodeSource; mixing them conflicts).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

# deb-src entries derived from the machine's own apt sources, so no host is
# named here. Both the deb822 (.sources) and the one-line format are handled.
src_list=/etc/apt/sources.list.d/snakecage-deb-src.sources
need_update=0
if [ ! -f "$src_list" ]; then
  tmp=$(mktemp)
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    [ "$f" = "$src_list" ] && continue
    grep -q '^Types:.*\bdeb\b' "$f" || continue
    sed -e 's/^Types:.*/Types: deb-src/' "$f" >>"$tmp"
    printf '\n' >>"$tmp"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' \
      >/etc/apt/sources.list.d/snakecage-deb-src.list || true
  fi
  if [ -s "$tmp" ]; then
    snakecage_as_root install -m 0644 "$tmp" "$src_list"
  fi
  rm -f "$tmp"
  need_update=1
fi

if [ ${#missing[@]} -gt 0 ] || [ "$need_update" = 1 ]; then
  snakecage_log "apt-get update"
  snakecage_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  snakecage_log "installing: ${missing[*]}"
  snakecage_as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$here/fetch-sources.sh"
"$here/fetch-packages.sh"
