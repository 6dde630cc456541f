// Adam's and AdamW's step, element by element in the order of
// docs/spec/adam-arithmetic.md. Internal linkage, like kernel_loop.h:
// include only from the ISA kernel files.
#pragma once

#include "adam.h"
#include "kernel_loop.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies, see kernel_loop.h

// The constants of a call, in the tensor's dtype (PyTorch rounds each Python
// float where it is used: 1 - b1, 1 - b2 and AdamW's 1 - lr * wd are doubles
// first), broadcast to vectors of the ISA.
template <class O>
struct AdamVec {
  using T = typename O::T;
  using V = typename O::V;
  V beta1, one_minus_beta1, beta2, one_minus_beta2, eps, weight_decay, decay_factor;
  // exp_avg.lerp_(g, w), w = 1 - b1: |w| < 0.5 ? fma(w, g-m, m) : fma(w-1, g-m, g)
  V lerp_coeff;
  bool lerp_from_grad;
  explicit AdamVec(const double* h)
      : beta1(O::set1(static_cast<T>(h[adam::kBeta1]))),
        one_minus_beta1(O::set1(static_cast<T>(1.0 - h[adam::kBeta1]))),
        beta2(O::set1(static_cast<T>(h[adam::kBeta2]))),
        one_minus_beta2(O::set1(static_cast<T>(1.0 - h[adam::kBeta2]))),
        eps(O::set1(static_cast<T>(h[adam::kEps]))),
        weight_decay(O::set1(static_cast<T>(h[adam::kWeightDecay]))),
        decay_factor(O::set1(static_cast<T>(1.0 - h[adam::kLr] * h[adam::kWeightDecay]))) {
    // ATen compares |weight| < 0.5 in the tensor's dtype, and forms weight - 1 there (one rounding).
    const T w = static_cast<T>(1.0 - h[adam::kBeta1]);
    lerp_from_grad = !((w < T(0.5)) && (w > T(-0.5)));
    lerp_coeff = O::set1(lerp_from_grad ? static_cast<T>(w - T(1)) : w);
  }
};

// One tensor's bias corrections, in its dtype.
template <class O>
struct AdamSliceVec {
  using T = typename O::T;
  using V = typename O::V;
  V neg_step_size, bc2_sqrt;
  explicit AdamSliceVec(const double* scalars)
      : neg_step_size(O::set1(static_cast<T>(-scalars[adam::kStepSize]))),
        bc2_sqrt(O::set1(static_cast<T>(scalars[adam::kBc2Sqrt]))) {}
};

// One vector: p, m, v (and vmax with amsgrad) in place.
template <class O, bool kMaximize, bool kWeightDecay, bool kDecoupled, bool kLerp, bool kAmsgrad>
inline void adam_lanes(const AdamVec<O>& k, const AdamSliceVec<O>& t, typename O::V& p, typename O::V g,
                       typename O::V& m, typename O::V& v, typename O::V& vmax) {
  using V = typename O::V;
  if (kMaximize) g = O::neg(g);                                   // -grad
  if (kDecoupled) p = O::mul(p, k.decay_factor);                 // AdamW: param.mul_(1 - lr*wd)
  else if (kWeightDecay) g = O::fma(k.weight_decay, p, g);       // Adam: grad.add(param, alpha=wd)
  if (kLerp) {                                                   // 2.x: exp_avg.lerp_(g, 1-b1)
    const V d = O::sub(g, m);
    m = O::fma(k.lerp_coeff, d, k.lerp_from_grad ? g : m);
  } else {                                                       // 1.13: exp_avg.mul_(b1).add_(g, alpha=1-b1)
    m = O::fma(k.one_minus_beta1, g, O::mul(m, k.beta1));
  }
  v = O::fma(O::mul(k.one_minus_beta2, g), g, O::mul(v, k.beta2));  // exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2)
  V s = v;
  if (kAmsgrad) {
    vmax = O::maximum(vmax, v);                                  // torch.maximum: NaN wins
    s = vmax;
  }
  const V denom = O::add(O::div(O::sqrt(s), t.bc2_sqrt), k.eps);  // (s.sqrt() / bc2_sqrt).add_(eps)
  p = O::add(p, O::div(O::mul(t.neg_step_size, m), denom));    // param.addcdiv_(m, denom, value=-step_size)
}

template <class O>
struct AdamKernel {
  using T = typename O::T;
  using H = typename HalfOf<O>::type;

  template <bool kMaximize, bool kWeightDecay, bool kDecoupled, bool kLerp, bool kAmsgrad>
  struct Fn {
    static constexpr unsigned kStates = (1u << adam::kExpAvg) | (1u << adam::kExpAvgSq) |
                                        (kAmsgrad ? 1u << adam::kMaxExpAvgSq : 0u);
    template <class Ops>
    static void lanes(const AdamVec<Ops>& k, const AdamSliceVec<Ops>& t, Vectors<Ops, kStates>& x) {
      adam_lanes<Ops, kMaximize, kWeightDecay, kDecoupled, kLerp, kAmsgrad>(
          k, t, x.p, x.g, x.s[adam::kExpAvg], x.s[adam::kExpAvgSq], x.s[adam::kMaxExpAvgSq]);
    }
    static void run(const double* hyper, const Slice<T>* slices, std::size_t count) {
      const AdamVec<O> k(hyper);
      const AdamVec<H> k_half(hyper);
      for (std::size_t s = 0; s < count; ++s) {
        // Each tensor at its own bias corrections: its step count is its own.
        const AdamSliceVec<O> t(slices[s].scalars);
        const AdamSliceVec<H> t_half(slices[s].scalars);
        each_vector<O, kStates>(
            slices[s], [&](auto& x) { lanes(k, t, x); }, [&](auto& x) { lanes(k_half, t_half, x); });
      }
    }
  };

  static void step(const double* h, const Slice<T>* slices, std::size_t count) {
    // AdamW multiplies by exactly 1 when weight_decay is 0: no bits change, so no pass is spent on it.
    const bool decoupled = h[adam::kDecoupled] != 0 && h[adam::kWeightDecay] != 0;
    Pick<Fn>::pick(h[adam::kMaximize] != 0, h[adam::kWeightDecay] != 0, decoupled, h[adam::kLerpExpAvg] != 0,
                   h[adam::kAmsgrad] != 0)(h, slices, count);
  }
};

template <class O>
void adam_step(const double* hyper, const Slice<typename O::T>* slices, std::size_t count) {
  AdamKernel<O>::step(hyper, slices, count);
}

}  // namespace
}  // namespace simd_optim
