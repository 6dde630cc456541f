// The gradient norm of clip_grad_norm_, one block at a time. A block is up
// to kNormBlock elements of one tensor; element k of a block goes to lane
// k mod kNormLanes, each lane accumulates in double in element order, and the
// lanes combine in a fixed tree. Every ISA does exactly these operations (a
// float32 square is exact in double, a float64 one is a multiply then an
// add, never fused), and so does the JS backend (lib/reference/norm.ts): the
// norm does not depend on the ISA, the thread count or how work is split.
#pragma once

#include <cmath>
#include <cstddef>

#include "kernels.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies are the point

// Element-wise: the block's value combines |x| (L1), x² (L2), |x|^p (Lp) or
// max |x| (Linf, NaN if any element is NaN).
template <NormKind K>
double lane_add(double acc, double v, double p) {
  if constexpr (K == NormKind::kL1) return acc + std::fabs(v);
  else if constexpr (K == NormKind::kL2) return acc + v * v;
  else if constexpr (K == NormKind::kLp) return acc + std::pow(std::fabs(v), p);
  else return acc != acc || v != v ? acc + v : (std::fabs(v) > acc ? std::fabs(v) : acc);
}

// Two lanes' values into one.
template <NormKind K>
double lane_join(double a, double b) {
  if constexpr (K == NormKind::kLinf) return a != a || b != b ? a + b : (b > a ? b : a);
  else return a + b;
}

// O: double vectors of the ISA, with load_f32 (W floats, widened).
template <class O, NormKind K, typename In>
double norm_block_of(const In* x, std::size_t n, double p) {
  static_assert(kNormLanes % O::W == 0, "the lanes fill whole vectors");
  constexpr std::size_t W = O::W;
  constexpr std::size_t R = kNormLanes / W;
  using V = typename O::V;
  alignas(64) double lanes[kNormLanes];
  std::size_t i = 0;
  if constexpr (K != NormKind::kLp) {  // |x|^p calls the C library's pow per element: no vector form
    V acc[R];
    for (std::size_t r = 0; r < R; ++r) acc[r] = O::set1(0.0);
    for (; i + kNormLanes <= n; i += kNormLanes) {
      for (std::size_t r = 0; r < R; ++r) {
        V v;
        if constexpr (sizeof(In) == 4) v = O::load_f32(x + i + r * W);
        else v = O::load(x + i + r * W);
        // |v| as max(v, -v): NaN stays NaN; a zero's sign is lost in the sum or the max.
        if constexpr (K == NormKind::kL1) acc[r] = O::add(acc[r], O::maximum(v, O::neg(v)));
        else if constexpr (K == NormKind::kL2) acc[r] = O::add(acc[r], O::mul(v, v));
        else acc[r] = O::maximum(acc[r], O::maximum(v, O::neg(v)));
      }
    }
    for (std::size_t r = 0; r < R; ++r) O::store(lanes + r * W, acc[r]);
  } else {
    for (std::size_t l = 0; l < kNormLanes; ++l) lanes[l] = 0.0;
  }
  // The rest one by one, each to its lane (i is a multiple of kNormLanes here, or 0).
  for (; i < n; ++i) lanes[i % kNormLanes] = lane_add<K>(lanes[i % kNormLanes], static_cast<double>(x[i]), p);
  for (std::size_t s = kNormLanes / 2; s >= 1; s /= 2) {
    for (std::size_t l = 0; l < s; ++l) lanes[l] = lane_join<K>(lanes[l], lanes[l + s]);
  }
  return lanes[0];
}

template <class O, typename In>
double norm_block(NormKind kind, const In* x, std::size_t n, double p) {
  switch (kind) {
    case NormKind::kL1: return norm_block_of<O, NormKind::kL1>(x, n, p);
    case NormKind::kL2: return norm_block_of<O, NormKind::kL2>(x, n, p);
    case NormKind::kLp: return norm_block_of<O, NormKind::kLp>(x, n, p);
    case NormKind::kLinf: break;
  }
  return norm_block_of<O, NormKind::kLinf>(x, n, p);
}

}  // namespace
}  // namespace simd_optim
