#!/usr/bin/env bash
# The mocha suite against an AddressSanitizer + UBSan build of the addon: the
# full suite with SIMD_OPTIM_FULL_TESTS=1 (npm run test:all), else npm test's.
#
# Why ASan rather than valgrind: Node's JIT and its own allocator make
# memcheck slow (tens of minutes) and noisy with false reports, while an
# instrumented addon preloaded with the sanitizer runtimes checks every
# access our code makes at about 2x speed, and fails on the first error.
# Node itself is not instrumented, and its exit-time leaks are not ours, so
# leak detection is off here (test/memory.test.ts checks our memory).
set -euo pipefail
cd "$(dirname "$0")/.."

out=build-asan
# The test build of the addon (test/setup.ts), which the suite needs.
node node_modules/cmake-js/bin/cmake-js configure --out "$out" --CDCMAKE_BUILD_TYPE=RelWithDebInfo --CDSIMD_OPTIM_TEST_ADDON=ON \
  "--CDCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  "--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" >/dev/null
node node_modules/cmake-js/bin/cmake-js build --out "$out" >/dev/null

export LD_PRELOAD="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export SIMD_OPTIM_BINDING="$PWD/$out/Release/simd_optim_test.node"
# Without the instrumented addon the suite would fall back to pure JS and
# skip the native tests, passing while checking nothing: make sure it loads.
node --import tsx -e "const i = require('./lib').backendInfo();
  if (!i.nativeLoaded) { console.error('the ASan build of the addon did not load: ' + process.env.SIMD_OPTIM_BINDING); process.exit(1); }"
# ASan's allocator keeps freed memory in quarantine by design, so the memory
# sizes that test/memory.test.ts measures mean nothing here; the plain run
# checks them (and its stress test in the full suite). The multi-gigabyte
# files of io-large move through JS and fs, not the addon's code: the plain
# run checks them, and io-mmap covers the addon's mappings here.
files='test/*.test.ts'
[ "${SIMD_OPTIM_FULL_TESTS:-}" = 1 ] && files='test/**/*.test.ts'
npx mocha "$files" --ignore test/memory.test.ts --ignore test/full/memory-stress.test.ts --ignore test/full/io-large.test.ts
