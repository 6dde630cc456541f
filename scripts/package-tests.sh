#!/usr/bin/env bash
# The package as a user gets it, with no compiler:
#   1. `npm run prebuild` (linux-x64 and linux-arm64, bullseye chroot) and `npm pack`;
#   2. a fresh app installs the tarball with cmake, g++, gcc, cc and c++ out
#      of PATH: the addon must be native, loaded from the prebuild, and step
#      with the JS backend's bits; the same with --ignore-scripts (the loader
#      finds the prebuild without the install script);
#   3. the x64 prebuild (gcc 10) against the committed PyTorch fixtures;
#   4. the x64 prebuild loaded by a Node on glibc 2.31 (bullseye's, in the chroot);
#   5. the arm64 prebuild in the installed app under qemu-aarch64 (NEON);
#   and simd-optim/tfjs: TF.js is not installed with the package, the subpath
#   says so, and with TF.js installed beside it an app trains through it from
#   CJS and ESM (scripts/package-tests/) and type-checks against its types.
# Needs root (debootstrap, chroot, apt-get). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

section() { printf '\n---- %s ----\n' "$*"; }
took() { echo "($(($SECONDS - $1)) s)"; }
tmp=$(mktemp -d /tmp/simd-optim-package-tests.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -d node_modules/pkg-prebuilds ] || npm ci --no-audit --no-fund

section "npm run prebuild"
t=$SECONDS
npm run prebuild
took $t
x64=$root/prebuilds/simd_optim-linux-x64/node-napi-v8.node

section "npm pack"
t=$SECONDS
npm pack --loglevel=warn --pack-destination "$tmp" >/dev/null
tarball=$(ls "$tmp"/simd-optim-*.tgz)
echo "$tarball: $(tar tzf "$tarball" | wc -l) files, $(du -k "$tarball" | cut -f1) KiB"
took $t

# A PATH with node, npm and npx, and sh, which npm runs scripts with: nothing else.
bin=$tmp/bin
mkdir -p "$bin"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
in_bare_path() { env PATH="$bin" /bin/bash -c "$1"; }
in_bare_path 'for tool in cmake g++ gcc cc c++; do
  if command -v "$tool" >/dev/null; then echo "$tool is on the bare PATH" >&2; exit 1; fi
done'

# Makes an app in $1 and installs the tarball there with extra npm arguments.
install_app() {
  local app=$1
  shift
  mkdir -p "$app"
  echo '{ "name": "app", "version": "1.0.0", "private": true }' >"$app/package.json"
  # Strict: falling back to pure JS would fail the install.
  (cd "$app" && SIMD_OPTIM_REQUIRE_NATIVE=1 in_bare_path "npm install --no-audit --no-fund $* '$tarball'")
}

section "fresh app, no compiler on PATH: npm install simd-optim"
t=$SECONDS
app=$tmp/app
install_app "$app" --foreground-scripts 2>&1 | tee "$tmp/install.log"
grep -q '^simd-optim: using the prebuilt addon for linux-x64$' "$tmp/install.log"
(cd "$app" && in_bare_path "node '$root/scripts/check-installed.js' avx2,avx512")
echo "packages in the app's node_modules: $(cd "$app" && npm ls --all --parseable | tail -n +2 | wc -l)"
(cd "$app" && npm ls --all)
took $t

section "simd-optim/tfjs: an optional peer, then TF.js installed beside it (CJS, ESM, types)"
t=$SECONDS
# Without TF.js: none of it is installed, the core works, and the subpath says what to install.
if [ -e "$app/node_modules/@tensorflow" ]; then echo "TF.js was installed with simd-optim" >&2; exit 1; fi
(cd "$app" && node -e "
  require('simd-optim');
  try { require('simd-optim/tfjs'); } catch (e) {
    if (/needs TensorFlow.js: npm install @tensorflow\/tfjs/.test(e.message)) process.exit(0);
    throw e;
  }
  console.error('simd-optim/tfjs loaded without TF.js'); process.exit(1);")
tfjs_app=$tmp/app-tfjs
install_app "$tfjs_app" >/dev/null
tf_version=$(node -p "require('$root/node_modules/@tensorflow/tfjs-core/package.json').version")
(cd "$tfjs_app" && npm install --no-audit --no-fund --loglevel=warn \
  "@tensorflow/tfjs-core@$tf_version" "@tensorflow/tfjs-layers@$tf_version" "@tensorflow/tfjs-backend-cpu@$tf_version")
cp "$root/scripts/package-tests/tfjs-train.cjs" "$root/scripts/package-tests/tfjs-train.mjs" \
  "$root/scripts/package-tests/tfjs-types.ts" "$tfjs_app/"
(cd "$tfjs_app" && node tfjs-train.cjs && node tfjs-train.mjs)
# The types, as a TypeScript app resolves them through the package's exports.
echo '{ "compilerOptions": { "module": "node16", "moduleResolution": "node16", "strict": true, "noEmit": true, "skipLibCheck": true, "types": [] }, "files": ["tfjs-types.ts"] }' >"$tfjs_app/tsconfig.json"
(cd "$tfjs_app" && node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json && echo "tfjs-types.ts: the types check")
took $t

section "fresh app, npm install --ignore-scripts: the loader finds the prebuild"
t=$SECONDS
install_app "$tmp/app-no-scripts" --ignore-scripts
(cd "$tmp/app-no-scripts" && in_bare_path "node '$root/scripts/check-installed.js' avx2,avx512")
took $t

section "x64 prebuild (gcc 10) against the committed PyTorch fixtures"
t=$SECONDS
# Without the prebuild loaded the suite would run on JS and prove nothing.
SIMD_OPTIM_BINDING=$x64 node --import tsx -e "const i = require('./lib').backendInfo();
  if (!i.nativeLoaded) { console.error('the prebuild did not load: ' + i.nativeError); process.exit(1); }"
SIMD_OPTIM_BINDING=$x64 npx mocha test/pytorch-bits.test.ts test/edge-arithmetic.test.ts --grep 'matches live torch' --invert
took $t

section "x64 prebuild loads on glibc 2.31 (bullseye's Node 12 in the chroot)"
t=$SECONDS
chroot_dir=$(bash scripts/bullseye-chroot.sh)
if [ ! -x "$chroot_dir/usr/bin/node" ]; then
  chroot "$chroot_dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get install -y -qq --no-install-recommends nodejs' >"$tmp/chroot-node.log" 2>&1 || { cat "$tmp/chroot-node.log"; exit 1; }
fi
cp "$x64" "$chroot_dir/tmp/simd-optim-x64.node"
chroot "$chroot_dir" /usr/bin/env -u NODE_EXTRA_CA_CERTS node -e "
  const b = require('/tmp/simd-optim-x64.node');
  console.log(process.version, 'on glibc', process.report.getReport().header.glibcVersionRuntime, JSON.stringify(b.info()));"
took $t

section "arm64 prebuild in the installed app, under qemu-aarch64"
t=$SECONDS
arm64_root=$(bash scripts/arm64-node.sh)
(cd "$app" && qemu-aarch64 -L "$arm64_root" "$arm64_root/usr/bin/node" "$root/scripts/check-installed.js" neon)
took $t
