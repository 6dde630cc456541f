// arm64 NEON kernels: 4 floats or 2 doubles per vector. Advanced SIMD is part
// of every AArch64 CPU, so no runtime check is needed. vfmaq_* is a fused
// multiply-add (one rounding) and vsqrtq_*/vdivq_* are IEEE correctly rounded.
#include <arm_neon.h>

#include "adagrad_step.h"
#include "adam_step.h"
#include "rmsprop_step.h"
#include "norm.h"
#include "sgd_step.h"

namespace simd_optim {
namespace {

struct NeonF32 : BufferedPartial<NeonF32> {
  using T = float;
  using V = float32x4_t;
  static constexpr std::size_t W = 4;
  static V load(const T* x) { return vld1q_f32(x); }
  static void store(T* x, V a) { vst1q_f32(x, a); }
  static V set1(T a) { return vdupq_n_f32(a); }
  static V add(V a, V b) { return vaddq_f32(a, b); }
  static V sub(V a, V b) { return vsubq_f32(a, b); }
  static V mul(V a, V b) { return vmulq_f32(a, b); }
  static V div(V a, V b) { return vdivq_f32(a, b); }
  static V sqrt(V a) { return vsqrtq_f32(a); }
  static V neg(V a) { return vnegq_f32(a); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }  // c + a*b
  static V maximum(V a, V b) { return vmaxq_f32(a, b); }         // FMAX: NaN if either is NaN
};

struct NeonF64 : BufferedPartial<NeonF64> {
  using T = double;
  using V = float64x2_t;
  static constexpr std::size_t W = 2;
  static V load(const T* x) { return vld1q_f64(x); }
  static V load_f32(const float* x) { return vcvt_f64_f32(vld1_f32(x)); }
  static void store(T* x, V a) { vst1q_f64(x, a); }
  static V set1(T a) { return vdupq_n_f64(a); }
  static V add(V a, V b) { return vaddq_f64(a, b); }
  static V sub(V a, V b) { return vsubq_f64(a, b); }
  static V mul(V a, V b) { return vmulq_f64(a, b); }
  static V div(V a, V b) { return vdivq_f64(a, b); }
  static V sqrt(V a) { return vsqrtq_f64(a); }
  static V neg(V a) { return vnegq_f64(a); }
  static V fma(V a, V b, V c) { return vfmaq_f64(c, a, b); }
  static V maximum(V a, V b) { return vmaxq_f64(a, b); }
};

}  // namespace

const KernelTable& neon_kernels() {
  static const KernelTable table{
      "neon",
      {&rmsprop_step<NeonF32>, &adagrad_step<NeonF32>, &sgd_step<NeonF32>, &adam_step<NeonF32>},
      {&rmsprop_step<NeonF64>, &adagrad_step<NeonF64>, &sgd_step<NeonF64>, &adam_step<NeonF64>},
      &elementwise<NeonF32>, &elementwise<NeonF64>,
      &all_finite<NeonF32>, &all_finite<NeonF64>,
      &norm_block<NeonF64, float>, &norm_block<NeonF64, double>};
  return table;
}

}  // namespace simd_optim
