#!/usr/bin/env bash
# Installs the two PyTorch oracles the test suite checks against (see
# docs/spec/rmsprop-arithmetic.md and test/torch/README.md):
#   - PyTorch 1.13.1: Debian bookworm's python3-torch, run as /usr/bin/python3
#   - PyTorch 2.6.0:  Debian trixie's python3-torch, in a debootstrap chroot
# Idempotent: each part is skipped when it is already in place. Needs root.
set -euo pipefail

chroot_dir="${SIMD_OPTIM_TRIXIE:-/var/cache/simd-optim/trixie}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { printf '[setup-torch] %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  log "PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') already installed (bookworm)"
else
  log "installing python3-torch from bookworm"
  apt_install python3-torch python3-numpy
fi

mount_proc() {
  if ! mountpoint -q "$chroot_dir/proc"; then mount -t proc proc "$chroot_dir/proc"; fi
}

if [ -x "$chroot_dir/usr/bin/python3" ] && [ -f "$chroot_dir/.simd-optim-ready" ]; then
  log "trixie chroot already at $chroot_dir"
else
  command -v debootstrap >/dev/null || apt_install debootstrap
  log "debootstrap trixie into $chroot_dir (about a minute)"
  mkdir -p "$chroot_dir"
  if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
    debootstrap --variant=minbase trixie "$chroot_dir" "$mirror" >/dev/null
  fi
  mount_proc
  chroot "$chroot_dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null'
  touch "$chroot_dir/.simd-optim-ready"
fi
mount_proc
# Hugging Face's safetensors library checks our .safetensors files (trixie has it; bookworm does not).
if ! chroot "$chroot_dir" /usr/bin/python3 -c 'import safetensors' 2>/dev/null; then
  log "installing python3-safetensors in the trixie chroot"
  chroot "$chroot_dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-safetensors >/dev/null'
fi
log "PyTorch $(chroot "$chroot_dir" /usr/bin/python3 -c 'import torch; print(torch.__version__)') ready in the trixie chroot"
log "safetensors $(chroot "$chroot_dir" /usr/bin/python3 -c 'import safetensors; print(safetensors.__version__)') ready in the trixie chroot"
