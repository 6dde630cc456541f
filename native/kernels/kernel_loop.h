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

#include "rmsprop.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies are the point

// Ops contract, for element type T and vector type V of W lanes:
//   load(const T*) / store(T*, V)  unaligned
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

// One vector of W elements, in place. The flags are template parameters so
// that each configuration compiles to a straight-line loop body.
template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp,
          bool kMomentum>
inline void rmsprop_vector(const VecConsts<O>& k, typename O::T* p,
                           const typename O::T* g, typename O::T* v,
                           typename O::T* buf, typename O::T* gavg) {
  using V = typename O::V;
  V gi = O::load(g);
  V pi = O::load(p);
  if (kMaximize) gi = O::neg(gi);
  if (kWeightDecay) gi = O::fma(k.weight_decay, pi, gi);       // grad.add(param, alpha=wd)
  V vi = O::mul(O::load(v), k.alpha);                          // square_avg.mul_(alpha)
  vi = O::fma(O::mul(k.one_minus_alpha, gi), gi, vi);          // .addcmul_(g, g, value=1-alpha)
  O::store(v, vi);
  V avg;
  if (kCentered) {
    V ga = O::load(gavg);
    if (kLerp) {                                               // 2.x: grad_avg.lerp_(g, 1-alpha)
      V d = O::sub(gi, ga);
      ga = O::fma(k.lerp_coeff, d, k.lerp_from_grad ? gi : ga);
    } else {                                                   // 1.13: mul_(alpha).add_(g, alpha=1-alpha)
      ga = O::fma(k.one_minus_alpha, gi, O::mul(ga, k.alpha));
    }
    O::store(gavg, ga);
    avg = O::add(O::sqrt(O::fma(O::neg(ga), ga, vi)), k.eps);  // addcmul(ga, ga, value=-1).sqrt_().add_(eps)
  } else {
    avg = O::add(O::sqrt(vi), k.eps);                          // square_avg.sqrt().add_(eps)
  }
  if (kMomentum) {
    V b = O::add(O::mul(O::load(buf), k.momentum), O::div(gi, avg));  // buf.mul_(m).addcdiv_(g, avg)
    O::store(buf, b);
    O::store(p, O::fma(k.neg_lr, b, pi));                      // param.add_(buf, alpha=-lr)
  } else {
    O::store(p, O::add(pi, O::div(O::mul(k.neg_lr, gi), avg)));  // param.addcdiv_(g, avg, value=-lr)
  }
}

template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp,
          bool kMomentum>
void rmsprop_loop(const RmspropConsts<typename O::T>& consts, std::size_t n,
                  typename O::T* p, const typename O::T* g, typename O::T* v,
                  typename O::T* buf, typename O::T* gavg) {
  using T = typename O::T;
  constexpr std::size_t W = O::W;
  const VecConsts<O> k(consts);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    rmsprop_vector<O, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>(
        k, p + i, g + i, v + i, kMomentum ? buf + i : nullptr,
        kCentered ? gavg + i : nullptr);
  }
  if (i == n) return;
  // The tail goes through the same vector code on a padded copy, so the
  // arithmetic cannot differ from the main loop. Padding lanes compute on
  // zeros and ones and are thrown away.
  const std::size_t rest = n - i;
  T tp[W], tg[W], tv[W], tb[W], ta[W];
  for (std::size_t j = 0; j < W; ++j) tp[j] = tg[j] = tb[j] = ta[j] = T(0), tv[j] = T(1);
  std::memcpy(tp, p + i, rest * sizeof(T));
  std::memcpy(tg, g + i, rest * sizeof(T));
  std::memcpy(tv, v + i, rest * sizeof(T));
  if (kMomentum) std::memcpy(tb, buf + i, rest * sizeof(T));
  if (kCentered) std::memcpy(ta, gavg + i, rest * sizeof(T));
  rmsprop_vector<O, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>(k, tp, tg, tv, tb, ta);
  std::memcpy(p + i, tp, rest * sizeof(T));
  std::memcpy(v + i, tv, rest * sizeof(T));
  if (kMomentum) std::memcpy(buf + i, tb, rest * sizeof(T));
  if (kCentered) std::memcpy(gavg + i, ta, rest * sizeof(T));
}

// Turns the runtime flags into one of the 32 instantiations above.
template <class O, bool... kFlags>
struct PickRmsprop {
  using T = typename O::T;
  using Fn = void (*)(const RmspropConsts<T>&, std::size_t, T*, const T*, T*, T*, T*);
  template <class... Rest>
  static Fn pick(bool flag, Rest... rest) {
    return flag ? PickRmsprop<O, kFlags..., true>::pick(rest...)
                : PickRmsprop<O, kFlags..., false>::pick(rest...);
  }
  static Fn pick() { return &rmsprop_loop<O, kFlags...>; }
};

template <class O>
void rmsprop_step(const RmspropConsts<typename O::T>& k, std::size_t n, typename O::T* p,
                  const typename O::T* g, typename O::T* v, typename O::T* buf,
                  typename O::T* gavg) {
  PickRmsprop<O>::pick(k.maximize, k.has_weight_decay, k.centered, k.centered && k.lerp,
                       k.has_momentum)(k, n, p, g, v, buf, gavg);
}

}  // namespace
}  // namespace simd_optim
