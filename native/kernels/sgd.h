// SGD's data layout, shared by the engine (algorithms.cc) and the kernel
// (sgd_step.h): its hyperparameter array, state array and per-tensor
// scalars, in the order lib/optim/sgd.ts writes and binds them.
#pragma once

namespace simd_optim {
namespace sgd {

// The hyperparameter array: Python floats, booleans as 0/1.
enum Hyper : int { kLr, kMomentum, kDampening, kWeightDecay, kNesterov, kMaximize, kHyperCount };

// The state array: the momentum buffer, used while momentum != 0.
enum State : int { kMomentumBuffer, kStateCount };

// Each tensor's scalars: 1 when its buffer was made for this step, which
// then starts as a copy of the step's direction (PyTorch's buffer is None
// until then), else 0.
enum Scalar : int { kFirst, kScalarCount };

// The names lib/ gives the same slots (checked when the addon loads).
constexpr const char* kHyperNames[kHyperCount] = {"lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize"};
constexpr const char* kStateNames[kStateCount] = {"momentum_buffer"};
constexpr const char* kScalarNames[kScalarCount] = {"first"};

}  // namespace sgd
}  // namespace simd_optim
