// Optimizer step kernels (RMSprop, Adagrad): plain C++ over raw pointers, no
// Node-API.
//
// The arithmetic follows docs/spec/rmsprop-arithmetic.md and
// docs/spec/adagrad-arithmetic.md element by element, so that every ISA (and
// the pure-JS backend) gives PyTorch's bits exactly.
#pragma once

#include <cstddef>

namespace simd_optim {

// Hyperparameters of one step as PyTorch holds them: Python floats (double).
struct RmspropHyper {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
  // Centered running mean of g: PyTorch 2.x uses grad_avg.lerp_(g, 1-alpha);
  // 1.13 uses grad_avg.mul_(alpha).add_(g, alpha=1-alpha).
  bool lerp_grad_avg = true;
};

// The constants a kernel uses, in its own dtype. PyTorch rounds each Python
// float to the tensor's dtype at the point of use, so 1-alpha is computed in
// double and then rounded, and so is -lr.
template <typename T>
struct RmspropConsts {
  T alpha, one_minus_alpha, eps, weight_decay, momentum, neg_lr;
  // lerp(ga, g, w) = |w| < 0.5 ? fma(w, g-ga, ga) : fma(w-1, g-ga, g)
  T lerp_coeff;
  bool lerp_from_grad;  // the second branch above
  bool maximize, has_weight_decay, centered, lerp, has_momentum;

  explicit RmspropConsts(const RmspropHyper& h)
      : alpha(static_cast<T>(h.alpha)),
        one_minus_alpha(static_cast<T>(1.0 - h.alpha)),
        eps(static_cast<T>(h.eps)),
        weight_decay(static_cast<T>(h.weight_decay)),
        momentum(static_cast<T>(h.momentum)),
        neg_lr(static_cast<T>(-h.lr)),
        lerp_coeff(one_minus_alpha),
        lerp_from_grad(false),
        maximize(h.maximize),
        has_weight_decay(h.weight_decay != 0),
        centered(h.centered),
        lerp(h.lerp_grad_avg),
        has_momentum(h.momentum > 0) {
    // ATen compares |weight| < 0.5 on the weight in the tensor's dtype, and
    // forms weight - 1 in that dtype (one rounding).
    T w = one_minus_alpha;
    if (!((w < T(0.5)) && (w > T(-0.5)))) {
      lerp_from_grad = true;
      lerp_coeff = w - T(1);
    }
  }
};

// Adagrad for one tensor. PyTorch computes the step's learning rate in
// double, clr = lr / (1 + (step - 1) * lr_decay), per tensor, since each
// tensor has its own step count.
struct AdagradHyper {
  double clr = 0.01;
  double eps = 1e-10;
  double weight_decay = 0;
  bool maximize = false;
};

template <typename T>
struct AdagradConsts {
  T neg_clr, eps, weight_decay;
  bool maximize, has_weight_decay;
  explicit AdagradConsts(const AdagradHyper& h)
      : neg_clr(static_cast<T>(-h.clr)),
        eps(static_cast<T>(h.eps)),
        weight_decay(static_cast<T>(h.weight_decay)),
        maximize(h.maximize),
        has_weight_decay(h.weight_decay != 0) {}
};

// n elements of one tensor: p, g, v (square_avg) always; buf
// (momentum_buffer) when momentum > 0, gavg (grad_avg) when centered,
// otherwise may be null. Pointers need no particular alignment. g must not
// overlap p, v, buf or gavg, and the arrays a call writes must not overlap
// another slice's. (param_group.cc also lists Adagrad's tensors this way,
// with its sum as v.)
template <typename T>
struct RmspropSlice {
  T* p;
  const T* g;
  T* v;
  T* buf;
  T* gavg;
  std::size_t n;
};

// One step over `count` slices with the same constants. A list rather than
// one call per tensor: with a thousand small tensors, choosing the loop and
// broadcasting the constants once per call is a tenth of the time.
using RmspropF32 = void (*)(const RmspropConsts<float>&, const RmspropSlice<float>* slices,
                            std::size_t count);
using RmspropF64 = void (*)(const RmspropConsts<double>&, const RmspropSlice<double>* slices,
                            std::size_t count);

// Adagrad: p, g, and sum (the running sum of squared gradients).
using AdagradF32 = void (*)(const AdagradConsts<float>&, std::size_t n, float* p, const float* g,
                            float* sum);
using AdagradF64 = void (*)(const AdagradConsts<double>&, std::size_t n, double* p,
                            const double* g, double* sum);

// In-place elementwise ops with PyTorch's CPU arithmetic, for writing custom
// optimizers (lib/ops.ts). Scalars arrive as doubles and are rounded to the
// tensor's dtype where used, as PyTorch does. a is the tensor written.
enum class ElementwiseOp : int {
  kMulScalar = 0,  // a = a * s1                      mul_(s)
  kMul = 1,        // a = a * b                       mul_(t)
  kAdd = 2,        // a = fma(s1, b, a)               add_(t, alpha=s1)
  kAddScalar = 3,  // a = fma(s2, s1, a)              add_(s1, alpha=s2)
  kAddcmul = 4,    // a = fma(s1 * b, c, a)           addcmul_(b, c, value=s1)
  kAddcdiv = 5,    // a = a + (s1 * b) / c            addcdiv_(b, c, value=s1)
  kSqrt = 6,       // a = sqrt(b)                     torch.sqrt(b, out=a); b may be a
  kLerp = 7,       // a = lerp(a, b, s1)              lerp_(b, weight=s1), ATen's two branches
};
constexpr int kElementwiseOpCount = 8;

using ElementwiseF32 = void (*)(ElementwiseOp op, std::size_t n, float* a, const float* b,
                                const float* c, double s1, double s2);
using ElementwiseF64 = void (*)(ElementwiseOp op, std::size_t n, double* a, const double* b,
                                const double* c, double s1, double s2);

// Whether all n values are finite (no NaN, no ±Inf).
using AllFiniteF32 = bool (*)(std::size_t n, const float* x);
using AllFiniteF64 = bool (*)(std::size_t n, const double* x);

// Everything one instruction set provides.
struct KernelTable {
  const char* isa;
  RmspropF32 rmsprop_f32;
  RmspropF64 rmsprop_f64;
  AdagradF32 adagrad_f32;
  AdagradF64 adagrad_f64;
  ElementwiseF32 elementwise_f32;
  ElementwiseF64 elementwise_f64;
  AllFiniteF32 all_finite_f32;
  AllFiniteF64 all_finite_f64;
};

// One per ISA, each defined in its own translation unit compiled with that
// ISA's flags only (see CMakeLists.txt). Only call a table the CPU supports.
const KernelTable& scalar_kernels();
#if defined(SIMD_OPTIM_HAVE_AVX2)
const KernelTable& avx2_kernels();
#endif
#if defined(SIMD_OPTIM_HAVE_AVX512)
const KernelTable& avx512_kernels();
#endif
#if defined(SIMD_OPTIM_HAVE_NEON)
const KernelTable& neon_kernels();
#endif

}  // namespace simd_optim
