// The kernels' interface: plain C++ over raw pointers, no Node-API.
//
// An optimizer's step is one function per algorithm and dtype, a pure
// function of memory: it reads each tensor's grad and updates its param and
// state in place, following the algorithm's spec page in docs/spec/ element
// by element, so that every ISA (and the pure-JS backend) gives PyTorch's
// bits exactly. Each algorithm's arithmetic is in its own header
// (rmsprop.h, adagrad.h, ...), instantiated per ISA in scalar.cc, avx2.cc,
// avx512.cc and neon.cc.
#pragma once

#include <cstddef>

namespace simd_optim {

// The algorithms, in the order of the kernel table (and of lib/'s algorithm
// ids, binding.d.ts). algorithms.cc describes each.
enum class Algorithm : int { kRmsprop = 0, kAdagrad, kSgd, kAdam, kCount };
constexpr int kAlgorithmCount = static_cast<int>(Algorithm::kCount);

// The most state arrays an algorithm keeps per tensor.
constexpr int kMaxStates = 3;

// One tensor (or a thread's part of one): n elements of its param p (updated
// in place), its grad g (read), and the algorithm's state arrays in the
// order its descriptor names them (null where the step does not use them),
// plus the tensor's own scalars (per-tensor values such as Adagrad's
// learning rate, which depends on each tensor's step count; null if the
// algorithm has none). Pointers need no particular alignment. g must not
// overlap p or a state array, and what a call writes must not overlap
// another slice's arrays.
template <typename T>
struct Slice {
  T* p;
  const T* g;
  T* state[kMaxStates];
  const double* scalars;
  std::size_t n;
};

// One step over `count` slices with the same hyperparameters: `hyper` is
// the algorithm's Float64Array, laid out as its header's Hyper enum says
// (Python floats as PyTorch holds them, booleans as 0/1). A list rather than
// one call per tensor: with a thousand small tensors, choosing the loop and
// broadcasting the constants once per call is a tenth of the time.
template <typename T>
using StepFn = void (*)(const double* hyper, const Slice<T>* slices, std::size_t count);

// In-place elementwise ops with PyTorch's CPU arithmetic, for writing custom
// optimizers (lib/engine/ops.ts). Scalars arrive as doubles and are rounded to the
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
  kClamp = 8,      // a = min(max(a, s1), s2)         clamp_(s1, s2) for s1 < 0 < s2; NaN stays NaN
};
constexpr int kElementwiseOpCount = 9;

using ElementwiseF32 = void (*)(ElementwiseOp op, std::size_t n, float* a, const float* b,
                                const float* c, double s1, double s2);
using ElementwiseF64 = void (*)(ElementwiseOp op, std::size_t n, double* a, const double* b,
                                const double* c, double s1, double s2);

// Whether all n values are finite (no NaN, no ±Inf).
using AllFiniteF32 = bool (*)(std::size_t n, const float* x);
using AllFiniteF64 = bool (*)(std::size_t n, const double* x);

// The gradient norm's reduction (norm.h): the kind of norm, and how its
// elements are cut into blocks and lanes, which fixes its operation order.
enum class NormKind : int { kL1 = 0, kL2 = 1, kLinf = 2, kLp = 3 };
constexpr std::size_t kNormBlock = 4096;
constexpr std::size_t kNormLanes = 16;

// One block's sum of |x|, x² or |x|^p (p), or its max |x|, in double.
using NormBlockF32 = double (*)(NormKind kind, const float* x, std::size_t n, double p);
using NormBlockF64 = double (*)(NormKind kind, const double* x, std::size_t n, double p);

// Everything one instruction set provides: each algorithm's step, indexed by
// Algorithm, per dtype.
struct KernelTable {
  const char* isa;
  StepFn<float> step_f32[kAlgorithmCount];
  StepFn<double> step_f64[kAlgorithmCount];
  ElementwiseF32 elementwise_f32;
  ElementwiseF64 elementwise_f64;
  AllFiniteF32 all_finite_f32;
  AllFiniteF64 all_finite_f64;
  NormBlockF32 norm_block_f32;
  NormBlockF64 norm_block_f64;
};

// The step of `algorithm` for dtype T from a table.
template <typename T>
StepFn<T> step_of(const KernelTable& k, Algorithm algorithm) {
  const int a = static_cast<int>(algorithm);
  if constexpr (sizeof(T) == 4) return k.step_f32[a];
  else return k.step_f64[a];
}

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
