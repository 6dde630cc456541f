#!/usr/bin/env bash
# An arm64 Node to run under qemu-aarch64, so that the linux-arm64 prebuild is
# loaded and stepped on an x86-64 machine: Debian bookworm's nodejs (Node 18,
# Node-API 9) and the libraries it links, unpacked with dpkg -x into a root
# for `qemu-aarch64 -L ROOT ROOT/usr/bin/node`. The three node-* packages
# (architecture all) hold builtins that Debian's Node loads from disk.
# Idempotent; needs root (adds the arm64 architecture to dpkg). Prints ROOT.
set -euo pipefail

dir="${SIMD_OPTIM_ARM64_NODE:-/var/cache/simd-optim/arm64-node}"
packages=(nodejs:arm64 libnode108:arm64 libbrotli1:arm64 libc-ares2:arm64 libc6:arm64
  libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64 libstdc++6:arm64 libuv1:arm64 zlib1g:arm64
  libgcc-s1:arm64 node-cjs-module-lexer node-acorn node-undici)

log() { printf '[arm64-node] %s\n' "$*" >&2; }

updated=0
apt_update() { if [ "$updated" = 0 ]; then apt-get update -qq; updated=1; fi; }

if ! command -v qemu-aarch64 >/dev/null; then
  apt_update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
fi

if [ -f "$dir/.simd-optim-ready" ] && [ "$(cat "$dir/.simd-optim-ready")" = "${packages[*]}" ]; then
  log "arm64 Node already at $dir/root"
else
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    updated=0
  fi
  apt_update
  rm -rf "$dir"
  mkdir -p "$dir/debs" "$dir/root"
  log "downloading bookworm's arm64 nodejs and its libraries"
  (cd "$dir/debs" && apt-get -o APT::Sandbox::User=root download -qq "${packages[@]}" >/dev/null)
  for deb in "$dir"/debs/*.deb; do dpkg -x "$deb" "$dir/root"; done
  echo "${packages[*]}" >"$dir/.simd-optim-ready"
fi
echo "$dir/root"
