// SGD's step, element by element in the order of docs/spec/sgd-arithmetic.md.
// Internal linkage, like kernel_loop.h: include only from the ISA kernel
// files.
#pragma once

#include "kernel_loop.h"
#include "sgd.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies, see kernel_loop.h

// The constants of a step, in the tensor's dtype (PyTorch rounds each Python
// float where it is used; 1 - dampening and -lr are doubles first),
// broadcast to vectors of the ISA.
template <class O>
struct SgdVec {
  using T = typename O::T;
  using V = typename O::V;
  V neg_lr, momentum, one_minus_dampening, weight_decay;
  explicit SgdVec(const double* h)
      : neg_lr(O::set1(static_cast<T>(-h[sgd::kLr]))),
        momentum(O::set1(static_cast<T>(h[sgd::kMomentum]))),
        one_minus_dampening(O::set1(static_cast<T>(1.0 - h[sgd::kDampening]))),
        weight_decay(O::set1(static_cast<T>(h[sgd::kWeightDecay]))) {}
};

// One vector: p, and the buffer when there is momentum, in place. kFirst:
// the buffer was made for this step and starts as the direction itself.
template <class O, bool kMaximize, bool kWeightDecay, bool kMomentum, bool kNesterov, bool kFirst>
inline void sgd_lanes(const SgdVec<O>& k, typename O::V& p, typename O::V g, typename O::V& buf) {
  using V = typename O::V;
  V d = kMaximize ? O::neg(g) : g;                                   // -grad if maximize
  if (kWeightDecay) d = O::fma(k.weight_decay, p, d);                // d.add(param, alpha=wd)
  if (kMomentum) {
    if (kFirst) {
      buf = d;                                                       // torch.clone(d)
    } else {
      buf = O::fma(k.one_minus_dampening, d, O::mul(buf, k.momentum));  // buf.mul_(m).add_(d, alpha=1-damp)
    }
    d = kNesterov ? O::fma(k.momentum, buf, d) : buf;                // d.add(buf, alpha=m), or buf
  }
  p = O::fma(k.neg_lr, d, p);                                        // param.add_(d, alpha=-lr)
}

template <class O>
struct SgdKernel {
  using T = typename O::T;
  using H = typename HalfOf<O>::type;

  template <bool kMaximize, bool kWeightDecay, bool kMomentum, bool kNesterov>
  struct Fn {
    static constexpr unsigned kStates = kMomentum ? 1u << sgd::kMomentumBuffer : 0u;
    template <bool kFirst, class Ops>
    static void lanes(const SgdVec<Ops>& k, Vectors<Ops, kStates>& x) {
      sgd_lanes<Ops, kMaximize, kWeightDecay, kMomentum, kNesterov, kFirst>(k, x.p, x.g, x.s[sgd::kMomentumBuffer]);
    }
    static void run(const double* hyper, const Slice<T>* slices, std::size_t count) {
      const SgdVec<O> k(hyper);
      const SgdVec<H> k_half(hyper);
      for (std::size_t s = 0; s < count; ++s) {
        // A tensor's first step with momentum copies the direction into its buffer.
        if (kMomentum && slices[s].scalars[sgd::kFirst] != 0) {
          each_vector<O, kStates>(
              slices[s], [&](auto& x) { lanes<true>(k, x); }, [&](auto& x) { lanes<true>(k_half, x); });
        } else {
          each_vector<O, kStates>(
              slices[s], [&](auto& x) { lanes<false>(k, x); }, [&](auto& x) { lanes<false>(k_half, x); });
        }
      }
    }
  };

  static void step(const double* h, const Slice<T>* slices, std::size_t count) {
    const bool momentum = h[sgd::kMomentum] != 0;
    Pick<Fn>::pick(h[sgd::kMaximize] != 0, h[sgd::kWeightDecay] != 0, momentum,
                   momentum && h[sgd::kNesterov] != 0)(h, slices, count);
  }
};

template <class O>
void sgd_step(const double* hyper, const Slice<typename O::T>* slices, std::size_t count) {
  SgdKernel<O>::step(hyper, slices, count);
}

}  // namespace
}  // namespace simd_optim
