#!/usr/bin/env bash
# npm run test:all: everything CI checks, beyond npm test's fast slice.
#   1. the mocha suite in full (SIMD_OPTIM_FULL_TESTS=1): every PyTorch case
#      live against both oracles, and the stress, fuzz and crash tests of test/full/;
#   2. the API reference in docs/api/ is what the TSDoc comments make;
#   3. the C++ kernel tests: every ISA, under ASan + UBSan, NEON under qemu;
#   4. the package as users get it: prebuilds for linux-x64 and linux-arm64,
#      the packed tarball installed with no compiler, arm64 under qemu;
#   5. the full mocha suite again, against an ASan + UBSan build of the addon.
# Set REQUIRE_TORCH=1 to make a missing PyTorch oracle a failure (CI does).
# Needs root: it installs the cross compiler, qemu and a Debian bullseye chroot
# for the prebuilds when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n==== %s ====\n' "$*"; }
export SIMD_OPTIM_FULL_TESTS=1

section "mocha, full suite"
npm run build:ts >/dev/null
npx tsc -p test/tsconfig.json --noEmit
npx mocha 'test/**/*.test.ts'

section "API reference"
node scripts/check-api-docs.js

section "C++ kernel tests"
bash scripts/native-tests.sh

section "the package: prebuilds, a fresh install with no compiler, arm64 under qemu"
bash scripts/package-tests.sh

section "mocha, full suite, against an ASan + UBSan build of the addon"
bash scripts/sanitized-tests.sh
