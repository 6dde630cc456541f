// x86-64 AVX-512F kernels: 16 floats or 8 doubles per vector. Compiled with
// -mavx512f -mavx2 -mfma for this file only; dispatch.cc calls it only after cpuid and
// xgetbv say the CPU and the OS support it.
#include <immintrin.h>

#include <cstdint>

#include "avx2_ops.h"
#include "adagrad_step.h"
#include "adam_step.h"
#include "rmsprop_step.h"
#include "norm.h"
#include "sgd_step.h"

namespace simd_optim {
namespace {

struct Avx512F32 {
  using T = float;
  using V = __m512;
  using Half = Avx2F32;  // a ragged tail of at most 8 floats takes a half vector
  static constexpr std::size_t W = 16;
  static V load(const T* x) { return _mm512_loadu_ps(x); }
  static void store(T* x, V a) { _mm512_storeu_ps(x, a); }
  static V set1(T a) { return _mm512_set1_ps(a); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V div(V a, V b) { return _mm512_div_ps(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_ps(a); }
  // AVX-512F has no xor_ps (that is AVX512DQ): flip the sign bit as integers.
  static V neg(V a) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(INT32_MIN)));
  }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  // NaN if either is NaN, as torch.maximum (vmaxps alone returns its second operand then).
  static V maximum(V a, V b) { return _mm512_mask_add_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), a, b); }
  // Masked lanes are neither read nor written (no fault past the end).
  static V load_partial(const T* x, std::size_t n) { return _mm512_maskz_loadu_ps(mask(n), x); }
  static void store_partial(T* x, V a, std::size_t n) { _mm512_mask_storeu_ps(x, mask(n), a); }
  static __mmask16 mask(std::size_t n) { return static_cast<__mmask16>((1u << n) - 1); }
};

struct Avx512F64 {
  using T = double;
  using V = __m512d;
  using Half = Avx2F64;
  static constexpr std::size_t W = 8;
  static V load(const T* x) { return _mm512_loadu_pd(x); }
  static V load_f32(const float* x) { return _mm512_cvtps_pd(_mm256_loadu_ps(x)); }
  static void store(T* x, V a) { _mm512_storeu_pd(x, a); }
  static V set1(T a) { return _mm512_set1_pd(a); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static V div(V a, V b) { return _mm512_div_pd(a, b); }
  static V sqrt(V a) { return _mm512_sqrt_pd(a); }
  static V neg(V a) {
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(a), _mm512_set1_epi64(INT64_MIN)));
  }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V maximum(V a, V b) { return _mm512_mask_add_pd(_mm512_max_pd(a, b), _mm512_cmp_pd_mask(a, b, _CMP_UNORD_Q), a, b); }
  static V load_partial(const T* x, std::size_t n) { return _mm512_maskz_loadu_pd(mask(n), x); }
  static void store_partial(T* x, V a, std::size_t n) { _mm512_mask_storeu_pd(x, mask(n), a); }
  static __mmask8 mask(std::size_t n) { return static_cast<__mmask8>((1u << n) - 1); }
};

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table{
      "avx512",
      {&rmsprop_step<Avx512F32>, &adagrad_step<Avx512F32>, &sgd_step<Avx512F32>, &adam_step<Avx512F32>},
      {&rmsprop_step<Avx512F64>, &adagrad_step<Avx512F64>, &sgd_step<Avx512F64>, &adam_step<Avx512F64>},
      &elementwise<Avx512F32>, &elementwise<Avx512F64>,
      &all_finite<Avx512F32>, &all_finite<Avx512F64>,
      &norm_block<Avx512F64, float>, &norm_block<Avx512F64, double>};
  return table;
}

}  // namespace simd_optim
