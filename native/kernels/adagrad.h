// Adagrad's data layout, shared by the engine (algorithms.cc) and the kernel
// (adagrad_step.h): its hyperparameter array, state arrays and per-tensor
// scalars, in the order lib/optim/adagrad.ts writes and binds them.
#pragma once

namespace simd_optim {
namespace adagrad {

// The hyperparameter array (lib/optim/adagrad.ts writes it): Python floats.
enum Hyper : int { kEps, kWeightDecay, kMaximize /* 0 or 1 */, kHyperCount };

// The state arrays, in the order of the Slice's state[].
enum State : int { kSum, kStateCount };

// Each tensor's scalars: its learning rate lr / (1 + (step - 1) * lr_decay),
// computed in double from its own step count, as PyTorch does.
enum Scalar : int { kClr, kScalarCount };

// The names lib/ gives the same slots (checked when the addon loads).
constexpr const char* kHyperNames[kHyperCount] = {"eps", "weightDecay", "maximize"};
constexpr const char* kStateNames[kStateCount] = {"sum"};
constexpr const char* kScalarNames[kScalarCount] = {"clr"};

}  // namespace adagrad
}  // namespace simd_optim
