// The RMSprop element loop, written once over a small "Ops" interface that
// each ISA file implements (scalar, AVX2, AVX-512, NEON). The operation order
// is docs/spec/rmsprop-arithmetic.md's; only the vector width differs.
//
// Everything here has internal linkage on purpose: each ISA's translation
// unit is compiled with its own -m flags, and an inline function shared
// between them could be merged by the linker into the AVX version and then
// run on a CPU without AVX (highway's warning). Include this file only from
// kernel .cc files.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies are the point

// Ops contract, for element type T and vector type V of W lanes:
//   load(const T*) / store(T*, V)  unaligned
//   load_partial(const T*, n) / store_partial(T*, V, n)  the first n < W lanes
//     only; memory past them is neither read nor written, and load_partial
//     fills the other lanes with 0
//   set1(T), add, sub, mul, div, sqrt, neg (exact sign flip),
//   fma(a, b, c) = a*b + c with one rounding.

template <class O>
struct VecConsts {
  using V = typename O::V;
  using T = typename O::T;
  V alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr, lerp_coeff;
  bool lerp_from_grad;
  explicit VecConsts(const RmspropConsts<T>& k)
      : alpha(O::set1(k.alpha)),
        one_minus_alpha(O::set1(k.one_minus_alpha)),
        eps(O::set1(k.eps)),
        weight_decay(O::set1(k.weight_decay)),
        momentum(O::set1(k.momentum)),
        neg_lr(O::set1(k.neg_lr)),
        lerp_coeff(O::set1(k.lerp_coeff)),
        lerp_from_grad(k.lerp_from_grad) {}
};

// One vector of W elements: p, v, buf and gavg are updated in place (buf
// and gavg only when used). The flags are template parameters so that each
// configuration compiles to a straight-line loop body.
template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp,
          bool kMomentum>
inline void rmsprop_lanes(const VecConsts<O>& k, typename O::V& p, typename O::V g,
                          typename O::V& v, typename O::V& buf, typename O::V& gavg) {
  using V = typename O::V;
  if (kMaximize) g = O::neg(g);
  if (kWeightDecay) g = O::fma(k.weight_decay, p, g);            // grad.add(param, alpha=wd)
  v = O::mul(v, k.alpha);                                        // square_avg.mul_(alpha)
  v = O::fma(O::mul(k.one_minus_alpha, g), g, v);                // .addcmul_(g, g, value=1-alpha)
  V avg;
  if (kCentered) {
    if (kLerp) {                                                 // 2.x: grad_avg.lerp_(g, 1-alpha)
      V d = O::sub(g, gavg);
      gavg = O::fma(k.lerp_coeff, d, k.lerp_from_grad ? g : gavg);
    } else {                                                     // 1.13: mul_(alpha).add_(g, alpha=1-alpha)
      gavg = O::fma(k.one_minus_alpha, g, O::mul(gavg, k.alpha));
    }
    avg = O::add(O::sqrt(O::fma(O::neg(gavg), gavg, v)), k.eps);  // addcmul(ga, ga, value=-1).sqrt_().add_(eps)
  } else {
    avg = O::add(O::sqrt(v), k.eps);                             // square_avg.sqrt().add_(eps)
  }
  if (kMomentum) {
    buf = O::add(O::mul(buf, k.momentum), O::div(g, avg));       // buf.mul_(m).addcdiv_(g, avg)
    p = O::fma(k.neg_lr, buf, p);                                // param.add_(buf, alpha=-lr)
  } else {
    p = O::add(p, O::div(O::mul(k.neg_lr, g), avg));             // param.addcdiv_(g, avg, value=-lr)
  }
}

// The ISA's half-width vectors, if it names them as O::Half (AVX-512: AVX2's),
// with the same arithmetic per lane.
template <class O, class = void>
struct HalfOf {
  using type = O;
  static constexpr bool kHas = false;
};
template <class O>
struct HalfOf<O, std::void_t<typename O::Half>> {
  using type = typename O::Half;
  static constexpr bool kHas = true;
};

// One vector of a slice's arrays, loaded at element `at`, stepped, stored
// back at `at`.
template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp,
          bool kMomentum>
struct Lanes {
  using T = typename O::T;
  using V = typename O::V;
  V p = O::set1(T(0)), g = p, v = p, buf = p, gavg = p;

  void load(const RmspropSlice<T>& s, std::size_t at) {
    p = O::load(s.p + at);
    g = O::load(s.g + at);
    v = O::load(s.v + at);
    if (kMomentum) buf = O::load(s.buf + at);
    if (kCentered) gavg = O::load(s.gavg + at);
  }
  void step_and_store(const VecConsts<O>& k, const RmspropSlice<T>& s, std::size_t at) {
    rmsprop_lanes<O, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>(k, p, g, v, buf, gavg);
    O::store(s.p + at, p);
    O::store(s.v + at, v);
    if (kMomentum) O::store(s.buf + at, buf);
    if (kCentered) O::store(s.gavg + at, gavg);
  }
};

// One tensor (or a thread's part of one).
template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp,
          bool kMomentum>
inline void rmsprop_slice(const VecConsts<O>& k, const VecConsts<typename HalfOf<O>::type>& k_half,
                          const RmspropSlice<typename O::T>& in) {
  using T = typename O::T;
  using V = typename O::V;
  using H = typename HalfOf<O>::type;
  using Full = Lanes<O, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>;
  using Half = Lanes<H, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>;
  constexpr std::size_t W = O::W;
  // A copy, so that its pointers live in registers: the vector stores may
  // alias anything in memory, and would make the loop reload them.
  const RmspropSlice<T> slice = in;
  const std::size_t n = slice.n;
  const std::size_t rest = n % W;
  // A ragged tensor of more than W elements ends with one more vector over its
  // last elements, overlapping the loop's last vector: a half vector when the
  // ISA has them and at most half a vector is left (on Zen 4 a 512-bit square
  // root or divide costs two 256-bit ones), else a full one. Its inputs are
  // read here, before the loop writes any of them, so the overlapped lanes
  // compute what the loop computes from the same inputs, and store the same
  // bits. Masked partial stores would do too, but on Zen 4 they stall the
  // loads of whatever comes next in memory, which many small tensors side by
  // side pay for at every tensor.
  const bool half = HalfOf<O>::kHas && n > W && rest != 0 && rest <= H::W;
  const bool full = n > W && rest != 0 && !half;
  Full full_tail;
  Half half_tail;
  if (full) full_tail.load(slice, n - W);
  if (half) half_tail.load(slice, n - H::W);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    Full lanes;
    lanes.load(slice, i);
    lanes.step_and_store(k, slice, i);
  }
  if (full) full_tail.step_and_store(k, slice, n - W);
  if (half) half_tail.step_and_store(k_half, slice, n - H::W);
  if (full || half || i == n) return;
  // Fewer than W elements: the same vector code on partial loads and stores,
  // so its arithmetic cannot differ from the main loop's. Lanes past the end
  // compute on whatever load_partial fills in and are never stored.
  T* const p = slice.p;
  T* const v = slice.v;
  T* const buf = slice.buf;
  T* const gavg = slice.gavg;
  const V zero = O::set1(T(0));
  V pi = O::load_partial(p, rest), vi = O::load_partial(v, rest);
  V bi = kMomentum ? O::load_partial(buf, rest) : zero;
  V ai = kCentered ? O::load_partial(gavg, rest) : zero;
  rmsprop_lanes<O, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>(
      k, pi, O::load_partial(slice.g, rest), vi, bi, ai);
  O::store_partial(p, pi, rest);
  O::store_partial(v, vi, rest);
  if (kMomentum) O::store_partial(buf, bi, rest);
  if (kCentered) O::store_partial(gavg, ai, rest);
}

// load_partial/store_partial through a lane buffer, for ISAs without masked
// memory operations.
template <class O>
struct BufferedPartial {
  // Templates, so that O (which derives from this) is complete when they are
  // instantiated.
  template <typename T>
  static auto load_partial(const T* x, std::size_t n) {
    alignas(64) T lanes[O::W] = {};
    std::memcpy(lanes, x, n * sizeof(T));
    return O::load(lanes);
  }
  template <typename T, typename V>
  static void store_partial(T* x, V a, std::size_t n) {
    alignas(64) T lanes[O::W];
    O::store(lanes, a);
    std::memcpy(x, lanes, n * sizeof(T));
  }
};

template <class O, bool... kFlags>
void rmsprop_loop(const RmspropConsts<typename O::T>& consts, const RmspropSlice<typename O::T>* slices,
                  std::size_t count) {
  const VecConsts<O> k(consts);
  const VecConsts<typename HalfOf<O>::type> k_half(consts);
  for (std::size_t s = 0; s < count; ++s) rmsprop_slice<O, kFlags...>(k, k_half, slices[s]);
}

// Turns the runtime flags into one of the 32 instantiations above.
template <class O, bool... kFlags>
struct PickRmsprop {
  using T = typename O::T;
  using Fn = void (*)(const RmspropConsts<T>&, const RmspropSlice<T>*, std::size_t);
  template <class... Rest>
  static Fn pick(bool flag, Rest... rest) {
    return flag ? PickRmsprop<O, kFlags..., true>::pick(rest...)
                : PickRmsprop<O, kFlags..., false>::pick(rest...);
  }
  static Fn pick() { return &rmsprop_loop<O, kFlags...>; }
};

// Adagrad, one vector: p and sum in place.
template <class O, bool kMaximize, bool kWeightDecay>
inline void adagrad_lanes(const AdagradConsts<typename O::T>& k, typename O::V& p, typename O::V g,
                          typename O::V& sum) {
  using V = typename O::V;
  if (kMaximize) g = O::neg(g);
  if (kWeightDecay) g = O::fma(O::set1(k.weight_decay), p, g);  // grad.add(param, alpha=wd)
  sum = O::fma(g, g, sum);                                      // state_sum.addcmul_(g, g, value=1)
  V std = O::add(O::sqrt(sum), O::set1(k.eps));                 // state_sum.sqrt().add_(eps)
  p = O::add(p, O::div(O::mul(O::set1(k.neg_clr), g), std));    // param.addcdiv_(g, std, value=-clr)
}

template <class O, bool kMaximize, bool kWeightDecay>
void adagrad_loop(const AdagradConsts<typename O::T>& k, std::size_t n, typename O::T* p,
                  const typename O::T* g, typename O::T* sum) {
  constexpr std::size_t W = O::W;
  using V = typename O::V;
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    V pi = O::load(p + i), si = O::load(sum + i);
    adagrad_lanes<O, kMaximize, kWeightDecay>(k, pi, O::load(g + i), si);
    O::store(p + i, pi);
    O::store(sum + i, si);
  }
  if (i == n) return;
  const std::size_t rest = n - i;  // same code, partial loads and stores
  V pi = O::load_partial(p + i, rest), si = O::load_partial(sum + i, rest);
  adagrad_lanes<O, kMaximize, kWeightDecay>(k, pi, O::load_partial(g + i, rest), si);
  O::store_partial(p + i, pi, rest);
  O::store_partial(sum + i, si, rest);
}

template <class O>
void adagrad_step(const AdagradConsts<typename O::T>& k, std::size_t n, typename O::T* p,
                  const typename O::T* g, typename O::T* sum) {
  if (k.maximize) {
    (k.has_weight_decay ? adagrad_loop<O, true, true> : adagrad_loop<O, true, false>)(k, n, p, g, sum);
  } else {
    (k.has_weight_decay ? adagrad_loop<O, false, true> : adagrad_loop<O, false, false>)(k, n, p, g, sum);
  }
}

// a[i] = f(a[i], b[i], c[i]) over n elements; b and c are loaded only when
// used (kB, kC). The tail runs f on partial loads, like the optimizer loops.
template <class O, bool kB, bool kC, class F>
void map_loop(std::size_t n, typename O::T* a, const typename O::T* b, const typename O::T* c, F f) {
  constexpr std::size_t W = O::W;
  using V = typename O::V;
  const V zero = O::set1(typename O::T(0));
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    O::store(a + i, f(O::load(a + i), kB ? O::load(b + i) : zero, kC ? O::load(c + i) : zero));
  }
  if (i == n) return;
  const std::size_t rest = n - i;
  const V r = f(O::load_partial(a + i, rest), kB ? O::load_partial(b + i, rest) : zero,
                kC ? O::load_partial(c + i, rest) : zero);
  O::store_partial(a + i, r, rest);
}

template <class O>
void elementwise(ElementwiseOp op, std::size_t n, typename O::T* a, const typename O::T* b,
                 const typename O::T* c, double s1, double s2) {
  using T = typename O::T;
  using V = typename O::V;
  const V x = O::set1(static_cast<T>(s1));
  const V y = O::set1(static_cast<T>(s2));
  switch (op) {
    case ElementwiseOp::kMulScalar:
      return map_loop<O, false, false>(n, a, b, c, [&](V av, V, V) { return O::mul(av, x); });
    case ElementwiseOp::kMul:
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) { return O::mul(av, bv); });
    case ElementwiseOp::kAdd:
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) { return O::fma(x, bv, av); });
    case ElementwiseOp::kAddScalar:
      return map_loop<O, false, false>(n, a, b, c, [&](V av, V, V) { return O::fma(y, x, av); });
    case ElementwiseOp::kAddcmul:
      return map_loop<O, true, true>(n, a, b, c,
                                     [&](V av, V bv, V cv) { return O::fma(O::mul(x, bv), cv, av); });
    case ElementwiseOp::kAddcdiv:
      return map_loop<O, true, true>(n, a, b, c,
                                     [&](V av, V bv, V cv) { return O::add(av, O::div(O::mul(x, bv), cv)); });
    case ElementwiseOp::kSqrt:
      return map_loop<O, true, false>(n, a, b, c, [&](V, V bv, V) { return O::sqrt(bv); });
    case ElementwiseOp::kLerp: {
      // ATen: |w| < 0.5 ? fma(w, end - self, self) : fma(w - 1, end - self, end)
      const T w = static_cast<T>(s1);
      const bool small = w < T(0.5) && w > T(-0.5);
      const V coeff = O::set1(small ? w : static_cast<T>(w - T(1)));
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) {
        return O::fma(coeff, O::sub(bv, av), small ? av : bv);
      });
    }
  }
}

// x - x is 0 for every finite x and NaN for NaN and ±Inf, and NaN is sticky
// under addition: one pass, no compares in the loop.
template <class O>
bool all_finite(std::size_t n, const typename O::T* x) {
  using T = typename O::T;
  using V = typename O::V;
  constexpr std::size_t W = O::W;
  // Four accumulators, so that the adds do not wait on each other.
  V acc = O::set1(T(0)), acc1 = acc, acc2 = acc, acc3 = acc;
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V v0 = O::load(x + i), v1 = O::load(x + i + W), v2 = O::load(x + i + 2 * W), v3 = O::load(x + i + 3 * W);
    acc = O::add(acc, O::sub(v0, v0));
    acc1 = O::add(acc1, O::sub(v1, v1));
    acc2 = O::add(acc2, O::sub(v2, v2));
    acc3 = O::add(acc3, O::sub(v3, v3));
  }
  acc = O::add(O::add(acc, acc1), O::add(acc2, acc3));
  for (; i + W <= n; i += W) {
    const V v = O::load(x + i);
    acc = O::add(acc, O::sub(v, v));
  }
  if (i < n) {
    const V v = O::load_partial(x + i, n - i);  // lanes past the end load as 0
    acc = O::add(acc, O::sub(v, v));
  }
  alignas(64) T lanes[W];
  O::store(lanes, acc);
  for (std::size_t j = 0; j < W; ++j) {
    if (lanes[j] != lanes[j]) return false;
  }
  return true;
}

template <class O>
void rmsprop_step(const RmspropConsts<typename O::T>& k, const RmspropSlice<typename O::T>* slices,
                  std::size_t count) {
  PickRmsprop<O>::pick(k.maximize, k.has_weight_decay, k.centered, k.centered && k.lerp,
                       k.has_momentum)(k, slices, count);
}

}  // namespace
}  // namespace simd_optim
