// The descriptors of algorithms.h, one per algorithm, in Algorithm's order.
// Built without any ISA's flags: nothing here is arithmetic.
#include "algorithms.h"

#include "adagrad.h"
#include "adam.h"
#include "rmsprop.h"
#include "sgd.h"

namespace simd_optim {
namespace {

// RMSprop: square_avg always; momentum_buffer when momentum > 0, grad_avg when centered.
unsigned rmsprop_states(const double* h) {
  return (1u << rmsprop::kSquareAvg) | (h[rmsprop::kMomentum] > 0 ? 1u << rmsprop::kMomentumBuffer : 0u) |
         (h[rmsprop::kCentered] != 0 ? 1u << rmsprop::kGradAvg : 0u);
}

// Adagrad: its sum, always.
unsigned adagrad_states(const double*) { return 1u << adagrad::kSum; }

// SGD: its momentum buffer while momentum != 0.
unsigned sgd_states(const double* h) { return h[sgd::kMomentum] != 0 ? 1u << sgd::kMomentumBuffer : 0u; }

// Adam: both moments, and the maximum of exp_avg_sq with amsgrad.
unsigned adam_states(const double* h) {
  return (1u << adam::kExpAvg) | (1u << adam::kExpAvgSq) | (h[adam::kAmsgrad] != 0 ? 1u << adam::kMaxExpAvgSq : 0u);
}

const AlgorithmInfo kInfo[kAlgorithmCount] = {
    {"rmsprop", rmsprop::kHyperCount, rmsprop::kHyperNames, rmsprop::kStateCount, rmsprop::kStateNames, 0, nullptr,
     &rmsprop_states},
    {"adagrad", adagrad::kHyperCount, adagrad::kHyperNames, adagrad::kStateCount, adagrad::kStateNames,
     adagrad::kScalarCount, adagrad::kScalarNames, &adagrad_states},
    {"sgd", sgd::kHyperCount, sgd::kHyperNames, sgd::kStateCount, sgd::kStateNames, sgd::kScalarCount,
     sgd::kScalarNames, &sgd_states},
    {"adam", adam::kHyperCount, adam::kHyperNames, adam::kStateCount, adam::kStateNames, adam::kScalarCount,
     adam::kScalarNames, &adam_states},
};

static_assert(rmsprop::kHyperCount <= kMaxHyper && rmsprop::kStateCount <= kMaxStates, "RMSprop fits the engine");
static_assert(adagrad::kHyperCount <= kMaxHyper && adagrad::kStateCount <= kMaxStates &&
                  adagrad::kScalarCount <= kMaxScalars,
              "Adagrad fits the engine");
static_assert(sgd::kHyperCount <= kMaxHyper && sgd::kStateCount <= kMaxStates && sgd::kScalarCount <= kMaxScalars,
              "SGD fits the engine");
static_assert(adam::kHyperCount <= kMaxHyper && adam::kStateCount <= kMaxStates && adam::kScalarCount <= kMaxScalars,
              "Adam fits the engine");

}  // namespace

const AlgorithmInfo& algorithm_info(Algorithm algorithm) { return kInfo[static_cast<int>(algorithm)]; }

}  // namespace simd_optim
