# Shared settings for snakecage's scripts. Source it; do not run it.

# Slow build outputs (guest interpreter, generated C, compiled guest) live
# here, outside the checkout, keyed by a hash of their inputs.
SNAKECAGE_CACHE_DIR=${SNAKECAGE_CACHE_DIR:-$HOME/.cache/snakecage}
export SNAKECAGE_CACHE_DIR

snakecage_log() { printf '[snakecage] %s\n' "$*" >&2; }
snakecage_die() { printf '[snakecage] error: %s\n' "$*" >&2; exit 1; }

# The file `apt-get download NAME[:ARCH]=VERSION` writes, in
# $SNAKECAGE_CACHE_DIR/debs (guest/packages.lock's specs; an epoch's ':' is
# written %3a, and a package without an architecture is `all`).
snakecage_deb_path() {
  local name=${1%%=*} version=${1#*=} arch=all
  [[ $name == *:* ]] && { arch=${name#*:}; name=${name%%:*}; }
  printf '%s/debs/%s_%s_%s.deb' "$SNAKECAGE_CACHE_DIR" "$name" "${version//:/%3a}" "$arch"
}

# Run as root directly, or through sudo when we are not root.
snakecage_as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
