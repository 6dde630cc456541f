// Portable reference kernels: one element at a time, exact fma from the
// compiler builtin (an instruction where the target has one, libm's exact
// software fma otherwise). Always built; every other ISA is tested against it.
#include "adagrad_step.h"
#include "adam_step.h"
#include "rmsprop_step.h"
#include "norm.h"
#include "sgd_step.h"

namespace simd_optim {
namespace {

// W = 1: the loop never has a tail, so load_partial/store_partial are never called.
template <typename TT>
struct ScalarOps : BufferedPartial<ScalarOps<TT>> {
  using T = TT;
  using V = TT;
  static constexpr std::size_t W = 1;
  static V load(const T* x) { return *x; }
  static V load_f32(const float* x) { return static_cast<V>(*x); }
  static void store(T* x, V a) { *x = a; }
  static V set1(T a) { return a; }
  static V add(V a, V b) { return a + b; }
  static V sub(V a, V b) { return a - b; }
  static V mul(V a, V b) { return a * b; }
  static V div(V a, V b) { return a / b; }
  static V neg(V a) { return -a; }
  static V sqrt(V a) {
    if constexpr (sizeof(T) == 4) return __builtin_sqrtf(a);
    else return __builtin_sqrt(a);
  }
  static V fma(V a, V b, V c) {
    if constexpr (sizeof(T) == 4) return __builtin_fmaf(a, b, c);
    else return __builtin_fma(a, b, c);
  }
  // NaN if either is NaN, as torch.maximum.
  static V maximum(V a, V b) { return a != a || b != b ? a + b : (a > b ? a : b); }
};

}  // namespace

const KernelTable& scalar_kernels() {
  static const KernelTable table{
      "scalar",
      {&rmsprop_step<ScalarOps<float>>, &adagrad_step<ScalarOps<float>>, &sgd_step<ScalarOps<float>>, &adam_step<ScalarOps<float>>},
      {&rmsprop_step<ScalarOps<double>>, &adagrad_step<ScalarOps<double>>, &sgd_step<ScalarOps<double>>, &adam_step<ScalarOps<double>>},
      &elementwise<ScalarOps<float>>, &elementwise<ScalarOps<double>>,
      &all_finite<ScalarOps<float>>, &all_finite<ScalarOps<double>>,
      &norm_block<ScalarOps<double>, float>, &norm_block<ScalarOps<double>, double>};
  return table;
}

}  // namespace simd_optim
