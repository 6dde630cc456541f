// A param group as the kernels see it: for each parameter slot, the raw
// pointers of its data, grad and state arrays. JS binds an array once and
// rebinds only when it changes, so a step is one call with no per-tensor
// Node-API work ("one native call per group, not per tensor").
#pragma once

#include <napi.h>

#include <array>
#include <cstddef>
#include <vector>

#include "state_buffer.h"

namespace simd_optim {

// What a bound array is to its parameter. Order matches binding.d.ts.
enum Role : int { kParam = 0, kGrad, kSquareAvg, kMomentumBuffer, kGradAvg, kRoleCount };

struct BoundArray {
  void* data = nullptr;
  size_t length = 0;
  DType dtype = DType::kFloat32;
  Napi::Reference<Napi::TypedArray> ref;  // keeps the memory alive while bound
};

class ParamGroup : public Napi::ObjectWrap<ParamGroup> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ParamGroup(const Napi::CallbackInfo& info);

 private:
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value RmspropStep(const Napi::CallbackInfo& info);

  using Slot = std::array<BoundArray, kRoleCount>;
  std::vector<Slot> slots_;
  // Float64Array [lr, alpha, eps, weight_decay, momentum, centered, maximize,
  // lerp_grad_avg] that JS fills before each step.
  Napi::Reference<Napi::Float64Array> hyper_ref_;
  const double* hyper_ = nullptr;
};

}  // namespace simd_optim
