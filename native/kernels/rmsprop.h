// RMSprop's data layout, shared by the engine (algorithms.cc) and the kernel
// (rmsprop_step.h): its hyperparameter array, state arrays and per-tensor
// scalars, in the order lib/optim/rmsprop.ts writes and binds them.
#pragma once

namespace simd_optim {
namespace rmsprop {

// The hyperparameter array (lib/optim/rmsprop.ts writes it): Python floats.
enum Hyper : int {
  kLr,
  kAlpha,
  kEps,
  kWeightDecay,
  kMomentum,
  kCentered,     // 0 or 1
  kMaximize,     // 0 or 1
  kLerpGradAvg,  // 1: PyTorch 2.x's grad_avg.lerp_(g, 1-alpha); 0: 1.13's mul_(alpha).add_(g, alpha=1-alpha)
  kHyperCount
};

// The state arrays, in the order of the Slice's state[].
enum State : int { kSquareAvg, kMomentumBuffer, kGradAvg, kStateCount };

// The names lib/ gives the same slots (checked when the addon loads).
constexpr const char* kHyperNames[kHyperCount] = {"lr",       "alpha",    "eps",      "weightDecay",
                                                  "momentum", "centered", "maximize", "lerpGradAvg"};
constexpr const char* kStateNames[kStateCount] = {"square_avg", "momentum_buffer", "grad_avg"};

}  // namespace rmsprop
}  // namespace simd_optim
