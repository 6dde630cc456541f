// Adam's (and AdamW's) data layout, shared by the engine (algorithms.cc) and
// the kernel (adam_step.h): its hyperparameter array, state arrays and
// per-tensor scalars, in the order lib/optim/adam.ts writes and binds them.
#pragma once

namespace simd_optim {
namespace adam {

// The hyperparameter array: Python floats, booleans as 0/1.
enum Hyper : int {
  kLr,
  kBeta1,
  kBeta2,
  kEps,
  kWeightDecay,
  kAmsgrad,
  kMaximize,
  kDecoupled,    // 1: AdamW's p.mul_(1 - lr * weight_decay); 0: Adam's decay in the gradient
  kLerpExpAvg,   // 1: PyTorch 2.x's exp_avg.lerp_(g, 1-b1); 0: 1.13's mul_(b1).add_(g, alpha=1-b1)
  kHyperCount
};

// The state arrays: the moments, and the running maximum of exp_avg_sq with amsgrad.
enum State : int { kExpAvg, kExpAvgSq, kMaxExpAvgSq, kStateCount };

// Each tensor's scalars, computed in double from its own step count t:
// lr / (1 - b1^t), and (1 - b2^t)^0.5 as the PyTorch generation takes it.
enum Scalar : int { kStepSize, kBc2Sqrt, kScalarCount };

// The names lib/ gives the same slots (checked when the addon loads).
constexpr const char* kHyperNames[kHyperCount] = {"lr",       "beta1",    "beta2",     "eps",       "weightDecay",
                                                  "amsgrad",  "maximize", "decoupled", "lerpExpAvg"};
constexpr const char* kStateNames[kStateCount] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
constexpr const char* kScalarNames[kScalarCount] = {"stepSize", "bc2Sqrt"};

}  // namespace adam
}  // namespace simd_optim
