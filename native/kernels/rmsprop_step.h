// RMSprop's step, element by element in the order of
// docs/spec/rmsprop-arithmetic.md. Internal linkage, like kernel_loop.h:
// include only from the ISA kernel files.
#pragma once

#include "kernel_loop.h"
#include "rmsprop.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies, see kernel_loop.h

// The constants a step uses, in the tensor's dtype. PyTorch rounds each
// Python float to the tensor's dtype at the point of use, so 1-alpha is
// computed in double and then rounded, and so is -lr.
template <typename T>
struct RmspropConsts {
  T alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
  // lerp(ga, g, w) = |w| < 0.5 ? fma(w, g-ga, ga) : fma(w-1, g-ga, g)
  T lerp_coeff;
  bool lerp_from_grad;  // the second branch above
  bool maximize, has_weight_decay, centered, lerp, has_momentum;

  explicit RmspropConsts(const double* h)
      : alpha(static_cast<T>(h[rmsprop::kAlpha])),
        one_minus_alpha(static_cast<T>(1.0 - h[rmsprop::kAlpha])),
        eps(static_cast<T>(h[rmsprop::kEps])),
        weight_decay(static_cast<T>(h[rmsprop::kWeightDecay])),
        momentum(static_cast<T>(h[rmsprop::kMomentum])),
        neg_lr(static_cast<T>(-h[rmsprop::kLr])),
        lerp_coeff(one_minus_alpha),
        lerp_from_grad(false),
        maximize(h[rmsprop::kMaximize] != 0),
        has_weight_decay(h[rmsprop::kWeightDecay] != 0),
        centered(h[rmsprop::kCentered] != 0),
        lerp(h[rmsprop::kLerpGradAvg] != 0),
        has_momentum(h[rmsprop::kMomentum] > 0) {
    // ATen compares |weight| < 0.5 on the weight in the tensor's dtype, and
    // forms weight - 1 in that dtype (one rounding).
    T w = one_minus_alpha;
    if (!((w < T(0.5)) && (w > T(-0.5)))) {
      lerp_from_grad = true;
      lerp_coeff = w - T(1);
    }
  }
};

// The same constants broadcast to vectors of the ISA.
template <class O>
struct RmspropVec {
  using V = typename O::V;
  V alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr, lerp_coeff;
  bool lerp_from_grad;
  explicit RmspropVec(const RmspropConsts<typename O::T>& k)
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
template <class O, bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp, bool kMomentum>
inline void rmsprop_lanes(const RmspropVec<O>& k, typename O::V& p, typename O::V g, typename O::V& v,
                          typename O::V& buf, typename O::V& gavg) {
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

template <class O>
struct RmspropKernel {
  using T = typename O::T;
  using H = typename HalfOf<O>::type;

  template <bool kMaximize, bool kWeightDecay, bool kCentered, bool kLerp, bool kMomentum>
  struct Fn {
    static constexpr unsigned kStates = (1u << rmsprop::kSquareAvg) |
                                        (kMomentum ? 1u << rmsprop::kMomentumBuffer : 0u) |
                                        (kCentered ? 1u << rmsprop::kGradAvg : 0u);
    // One vector at either width (the loop's, or the half vector of a ragged end).
    template <class Ops>
    static void lanes(const RmspropVec<Ops>& k, Vectors<Ops, kStates>& x) {
      rmsprop_lanes<Ops, kMaximize, kWeightDecay, kCentered, kLerp, kMomentum>(
          k, x.p, x.g, x.s[rmsprop::kSquareAvg], x.s[rmsprop::kMomentumBuffer], x.s[rmsprop::kGradAvg]);
    }
    static void run(const RmspropConsts<T>& consts, const Slice<T>* slices, std::size_t count) {
      const RmspropVec<O> k(consts);
      const RmspropVec<H> k_half(consts);
      for (std::size_t s = 0; s < count; ++s) {
        each_vector<O, kStates>(slices[s], [&](auto& x) { lanes(k, x); }, [&](auto& x) { lanes(k_half, x); });
      }
    }
  };

  static void step(const double* hyper, const Slice<T>* slices, std::size_t count) {
    const RmspropConsts<T> k(hyper);
    Pick<Fn>::pick(k.maximize, k.has_weight_decay, k.centered, k.centered && k.lerp, k.has_momentum)(k, slices,
                                                                                                       count);
  }
};

template <class O>
void rmsprop_step(const double* hyper, const Slice<typename O::T>* slices, std::size_t count) {
  RmspropKernel<O>::step(hyper, slices, count);
}

}  // namespace
}  // namespace simd_optim
