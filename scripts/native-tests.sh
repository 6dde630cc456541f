#!/usr/bin/env bash
# The C++ kernel tests (native/test), three ways:
#   1. a plain Release build: the thread split of a step (split_test: every
#      element in exactly one part), every ISA this CPU runs against scalar
#      (kernel_test) and against PyTorch's bits (fixture_test, replaying
#      test/fixtures/kernel-cases.bin.gz, made from the committed PyTorch fixtures);
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer;
#   3. the NEON kernels, cross-compiled for arm64 and run under qemu-aarch64,
#      both tests, so that NEON never ships untested.
# Each fixture_test run is followed by one with a bit of every expected value
# flipped, which must fail: a comparison that cannot fail proves nothing.
# Installs the cross compiler and qemu with apt-get when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n---- %s ----\n' "$*"; }
jobs=$(nproc 2>/dev/null || echo 2)
fixtures=build/native-tests/kernel-cases.bin
mkdir -p build/native-tests
gzip -dc test/fixtures/kernel-cases.bin.gz >"$fixtures"

build() {  # dir, then extra cmake arguments
  local dir=$1
  shift
  # Re-configuring a cross build would warn that its toolchain file went unused.
  cmake --no-warn-unused-cli -S . -B "$dir" -DSIMD_OPTIM_KERNEL_TESTS=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs" --target kernel_test fixture_test split_test >/dev/null
}

# Runs both tests with an optional runner prefix (qemu-aarch64); prints their
# output. Chained with &&: set -e does not reach into $(...), where the qemu
# run is captured, so a failure must end the chain by itself.
run_tests() {  # dir, then the runner, if any
  local dir=$1
  shift
  "$@" "$dir/split_test" &&
    "$@" "$dir/kernel_test" &&
    "$@" "$dir/fixture_test" "$fixtures" &&
    "$@" "$dir/fixture_test" "$fixtures" --flip-expected
}

section "kernel tests: plain build"
build build/native-tests/plain -DCMAKE_BUILD_TYPE=Release
run_tests build/native-tests/plain

section "kernel tests: ASan + UBSan"
build build/native-tests/sanitized -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tests build/native-tests/sanitized

section "kernel tests: NEON under qemu-aarch64"
if ! command -v aarch64-linux-gnu-g++ >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++-aarch64-linux-gnu qemu-user >/dev/null
fi
build build/native-tests/aarch64 -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=native/test/aarch64-toolchain.cmake
status=0
output=$(run_tests build/native-tests/aarch64 qemu-aarch64) || status=$?
echo "$output"
[ "$status" -eq 0 ]
# Make sure the NEON kernels really ran, not only scalar, in both tests.
grep -q '^kernel_test: ISAs scalar, neon;' <<<"$output"
grep -q '^fixture_test: ISAs scalar, neon;' <<<"$output"
grep -q '^fixture_test --flip-expected: ISAs scalar, neon;' <<<"$output"
