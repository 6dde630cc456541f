// AVX2 + FMA vector ops (8 floats or 4 doubles), for the AVX2 kernels and as
// the half-width vectors of the AVX-512 ones. Include only from kernel files
// compiled with -mavx2 -mfma; internal linkage, as in kernel_loop.h.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies are the point

struct Avx2F32 {
  using T = float;
  using V = __m256;
  static constexpr std::size_t W = 8;
  static V load(const T* x) { return _mm256_loadu_ps(x); }
  static void store(T* x, V a) { _mm256_storeu_ps(x, a); }
  static V set1(T a) { return _mm256_set1_ps(a); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V div(V a, V b) { return _mm256_div_ps(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_ps(a); }
  static V neg(V a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  // NaN if either is NaN, as torch.maximum (vmaxps alone returns its second operand then).
  static V maximum(V a, V b) {
    return _mm256_blendv_ps(_mm256_max_ps(a, b), _mm256_add_ps(a, b), _mm256_cmp_ps(a, b, _CMP_UNORD_Q));
  }
  // vmaskmov loads nothing from masked-off lanes (no fault past the end). The
  // tail's store goes through a buffer instead: a masked store is microcoded
  // on some CPUs (AMD's), and a step over many small tensors stores a tail
  // per array per tensor.
  static V load_partial(const T* x, std::size_t n) { return _mm256_maskload_ps(x, mask(n)); }
  static void store_partial(T* x, V a, std::size_t n) {
    alignas(32) T lanes[W];
    _mm256_store_ps(lanes, a);
    for (std::size_t i = 0; i < n; ++i) x[i] = lanes[i];
  }
  static __m256i mask(std::size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

struct Avx2F64 {
  using T = double;
  using V = __m256d;
  static constexpr std::size_t W = 4;
  static V load(const T* x) { return _mm256_loadu_pd(x); }
  static V load_f32(const float* x) { return _mm256_cvtps_pd(_mm_loadu_ps(x)); }
  static void store(T* x, V a) { _mm256_storeu_pd(x, a); }
  static V set1(T a) { return _mm256_set1_pd(a); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V sub(V a, V b) { return _mm256_sub_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static V div(V a, V b) { return _mm256_div_pd(a, b); }
  static V sqrt(V a) { return _mm256_sqrt_pd(a); }
  static V neg(V a) { return _mm256_xor_pd(a, _mm256_set1_pd(-0.0)); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V maximum(V a, V b) {
    return _mm256_blendv_pd(_mm256_max_pd(a, b), _mm256_add_pd(a, b), _mm256_cmp_pd(a, b, _CMP_UNORD_Q));
  }
  static V load_partial(const T* x, std::size_t n) { return _mm256_maskload_pd(x, mask(n)); }
  static void store_partial(T* x, V a, std::size_t n) {
    alignas(32) T lanes[W];
    _mm256_store_pd(lanes, a);
    for (std::size_t i = 0; i < n; ++i) x[i] = lanes[i];
  }
  static __m256i mask(std::size_t n) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(static_cast<long long>(n)), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

}  // namespace
}  // namespace simd_optim
