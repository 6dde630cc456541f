// What the engine knows of each algorithm, and nothing more: the names of
// its hyperparameters, state arrays and per-tensor scalars, and which state
// arrays a step with given hyperparameters uses. The engine (param_group.cc)
// binds, checks and splits work by these alone; the arithmetic is in the
// algorithm's kernel header (rmsprop_step.h, ...), its layout in its own
// header (rmsprop.h, ...).
#pragma once

#include "kernels.h"

namespace simd_optim {

// The most hyperparameters and per-tensor scalars an algorithm has.
constexpr int kMaxHyper = 16;
constexpr int kMaxScalars = 4;

struct AlgorithmInfo {
  const char* name;  // for messages: "rmsprop"
  int hyper_count;
  const char* const* hyper_names;   // lib/'s names of the hyperparameter slots
  int state_count;                  // state arrays per tensor (≤ kMaxStates)
  const char* const* state_names;   // PyTorch's names, in the Slice's order
  int scalar_count;                 // scalars per tensor (Slice::scalars)
  const char* const* scalar_names;
  unsigned (*used_states)(const double* hyper);  // bit k: state k is read and written
};

const AlgorithmInfo& algorithm_info(Algorithm algorithm);

}  // namespace simd_optim
