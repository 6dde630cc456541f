// Exports that only tests need (where memory lies), in the test build of the
// addon alone: test_exports.cc in simd_optim_test.node, test_exports_none.cc
// in the addon users get.
#ifndef SIMD_OPTIM_TEST_EXPORTS_H_
#define SIMD_OPTIM_TEST_EXPORTS_H_

#include <napi.h>

namespace simd_optim {

void register_test_exports(Napi::Env env, Napi::Object exports);

}  // namespace simd_optim

#endif  // SIMD_OPTIM_TEST_EXPORTS_H_
