#!/usr/bin/env bash
# The C++ kernel tests (native/test/kernel_test.cc), three ways:
#   1. a plain Release build: every ISA this CPU runs against scalar;
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the NEON kernels, cross-compiled for arm64 and run under qemu-aarch64,
#      so that NEON never ships untested.
# Installs the cross compiler and qemu with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n---- %s ----\n' "$*"; }
jobs=$(nproc 2>/dev/null || echo 2)

build_and_run() {  # dir, then extra cmake arguments
  local dir=$1
  shift
  cmake -S . -B "$dir" -DSIMD_OPTIM_KERNEL_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" --target kernel_test >/dev/null
}

section "kernel tests: plain build"
build_and_run build/native-tests/plain -DCMAKE_BUILD_TYPE=Release
build/native-tests/plain/kernel_test

section "kernel tests: ASan + UBSan"
build_and_run build/native-tests/sanitized -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  build/native-tests/sanitized/kernel_test

section "kernel tests: NEON under qemu-aarch64"
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user >/dev/null
fi
build_and_run build/native-tests/aarch64 -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=native/test/aarch64-toolchain.cmake
output=$(qemu-aarch64 build/native-tests/aarch64/kernel_test)
echo "$output"
# Make sure the NEON kernels really ran, not only scalar.
grep -q 'ISAs scalar, neon;' <<<"$output"
