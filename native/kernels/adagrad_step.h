// Adagrad's step, element by element in the order of
// docs/spec/adagrad-arithmetic.md. Internal linkage, like kernel_loop.h:
// include only from the ISA kernel files.
#pragma once

#include "kernel_loop.h"
#include "adagrad.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies, see kernel_loop.h

// The constants of one tensor's step, in its dtype (PyTorch rounds each
// Python float where it is used), broadcast to vectors of the ISA.
template <class O>
struct AdagradVec {
  using T = typename O::T;
  using V = typename O::V;
  V neg_clr, eps, weight_decay;
  AdagradVec(const double* h, double clr)
      : neg_clr(O::set1(static_cast<T>(-clr))),
        eps(O::set1(static_cast<T>(h[adagrad::kEps]))),
        weight_decay(O::set1(static_cast<T>(h[adagrad::kWeightDecay]))) {}
};

// One vector: p and sum in place.
template <class O, bool kMaximize, bool kWeightDecay>
inline void adagrad_lanes(const AdagradVec<O>& k, typename O::V& p, typename O::V g, typename O::V& sum) {
  using V = typename O::V;
  if (kMaximize) g = O::neg(g);
  if (kWeightDecay) g = O::fma(k.weight_decay, p, g);  // grad.add(param, alpha=wd)
  sum = O::fma(g, g, sum);                             // state_sum.addcmul_(g, g, value=1)
  V std = O::add(O::sqrt(sum), k.eps);                 // state_sum.sqrt().add_(eps)
  p = O::add(p, O::div(O::mul(k.neg_clr, g), std));    // param.addcdiv_(g, std, value=-clr)
}

template <class O>
struct AdagradKernel {
  using T = typename O::T;
  using H = typename HalfOf<O>::type;
  static constexpr unsigned kStates = 1u << adagrad::kSum;

  template <bool kMaximize, bool kWeightDecay>
  struct Fn {
    template <class Ops>
    static void lanes(const AdagradVec<Ops>& k, Vectors<Ops, kStates>& x) {
      adagrad_lanes<Ops, kMaximize, kWeightDecay>(k, x.p, x.g, x.s[adagrad::kSum]);
    }
    // Each tensor at its own learning rate.
    static void run(const double* hyper, const Slice<T>* slices, std::size_t count) {
      for (std::size_t s = 0; s < count; ++s) {
        const double clr = slices[s].scalars[adagrad::kClr];
        const AdagradVec<O> k(hyper, clr);
        const AdagradVec<H> k_half(hyper, clr);
        each_vector<O, kStates>(slices[s], [&](auto& x) { lanes(k, x); }, [&](auto& x) { lanes(k_half, x); });
      }
    }
  };

  static void step(const double* hyper, const Slice<T>* slices, std::size_t count) {
    Pick<Fn>::pick(hyper[adagrad::kMaximize] != 0, hyper[adagrad::kWeightDecay] != 0)(hyper, slices, count);
  }
};

template <class O>
void adagrad_step(const double* hyper, const Slice<typename O::T>* slices, std::size_t count) {
  AdagradKernel<O>::step(hyper, slices, count);
}

}  // namespace
}  // namespace simd_optim
