#!/usr/bin/env bash
# `npm run prebuild`: compiles the addon for linux-x64 and linux-arm64 in a
# Debian bullseye chroot (scripts/bullseye-chroot.sh), so that it needs at most
# glibc 2.31, with libstdc++ and libgcc linked in and symbols stripped, then
# places both in prebuilds/ as pkg-prebuilds names them and checks their
# version needs (scripts/check-prebuild.js). cmake runs in the chroot
# directly, without Node or cmake-js, given the Node-API and node-addon-api
# headers from node_modules. Needs root and `npm install` done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[prebuild] %s\n' "$*" >&2; }
jobs=2

# There is no "build" script on purpose: npm would run this as its pre-hook.
chroot_dir=$(bash scripts/bullseye-chroot.sh)
command -v readelf >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils >/dev/null
}

# The headers cmake-js itself would use: node-api-headers as cmake-js resolves
# it, node-addon-api as CMakeLists.txt resolves it.
napi_headers=$(node -p "const path = require('path');
  const cmakeJs = path.dirname(require.resolve('cmake-js/package.json'));
  require(require.resolve('node-api-headers', { paths: [cmakeJs] })).include_dir")
addon_api=$(node -p "require('path').dirname(require.resolve('node-addon-api/package.json'))")
read -r name napi <<<"$(node -p "const o = require('./binding-options'); o.name + ' ' + Math.max(...o.napi_versions)")"

# A fresh copy of the sources in the chroot for each run (a few hundred KB).
work=/tmp/simd-optim-prebuild
rm -rf "$chroot_dir$work"
mkdir -p "$chroot_dir$work/src/deps"
cp -r CMakeLists.txt native "$chroot_dir$work/src/"
cp -r "$napi_headers" "$chroot_dir$work/src/deps/node-api-headers"
cp -r "$addon_api" "$chroot_dir$work/src/deps/node-addon-api"

# Static libstdc++/libgcc, their symbols kept inside (--exclude-libs, so that
# they never interpose on Node's own), stripped (-s).
link_flags="-static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL -s"

rm -rf prebuilds
for arch in x64 arm64; do
  extra=()
  [ "$arch" = arm64 ] && extra=(-DCMAKE_TOOLCHAIN_FILE="$work/src/native/test/aarch64-toolchain.cmake")
  log "building linux-$arch with $(chroot "$chroot_dir" sh -c "$([ "$arch" = arm64 ] && echo aarch64-linux-gnu-)g++ --version" | head -1)"
  chroot "$chroot_dir" cmake -S "$work/src" -B "$work/build-$arch" -DCMAKE_BUILD_TYPE=Release \
    -DSIMD_OPTIM_NODE_API_HEADERS="$work/src/deps/node-api-headers" \
    -DSIMD_OPTIM_NODE_ADDON_API="$work/src/deps/node-addon-api" \
    -DCMAKE_SHARED_LINKER_FLAGS="$link_flags" "${extra[@]}" >/dev/null
  chroot "$chroot_dir" cmake --build "$work/build-$arch" -j"$jobs" --target "$name" >/dev/null
  # pkg-prebuilds-copy takes the source relative to the current directory.
  node node_modules/pkg-prebuilds/bin/copy.mjs --baseDir "$(realpath --relative-to=. "$chroot_dir$work/build-$arch")" \
    --source "$name.node" --name "$name" --napi_version "$napi" --arch "$arch" --platform linux >/dev/null
done

node scripts/check-prebuild.js x64 prebuilds/"$name"-linux-x64/node-napi-v"$napi".node \
  arm64 prebuilds/"$name"-linux-arm64/node-napi-v"$napi".node
