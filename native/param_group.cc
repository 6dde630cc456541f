#include "param_group.h"

#include <string>

#include "dispatch.h"
#include "kernels/rmsprop.h"

namespace simd_optim {
namespace {

constexpr size_t kHyperLength = 8;
const char* const kRoleNames[kRoleCount] = {"param", "grad", "square_avg", "momentum_buffer",
                                            "grad_avg"};

bool overlaps(const BoundArray& a, const BoundArray& b) {
  if (a.data == nullptr || b.data == nullptr || a.length == 0 || b.length == 0) return false;
  const size_t elem = a.dtype == DType::kFloat32 ? 4 : 8;
  const char* a0 = static_cast<const char*>(a.data);
  const char* b0 = static_cast<const char*>(b.data);
  return a0 < b0 + b.length * elem && b0 < a0 + a.length * elem;
}

}  // namespace

Napi::Function ParamGroup::Define(Napi::Env env) {
  // Writable and configurable, like the methods of a JS class.
  constexpr auto kMethod = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
  return DefineClass(env, "ParamGroup",
                     {InstanceMethod<&ParamGroup::Bind>("bind", kMethod),
                      InstanceMethod<&ParamGroup::RmspropStep>("rmspropStep", kMethod)});
}

// new ParamGroup(slotCount, hyper: Float64Array(8))
ParamGroup::ParamGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParamGroup>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "ParamGroup(slotCount: number, hyper: Float64Array)");
  }
  const double count = info[0].As<Napi::Number>().DoubleValue();
  if (!(count >= 0 && count <= 1e9) || count != static_cast<double>(static_cast<size_t>(count))) {
    throw Napi::RangeError::New(env, "ParamGroup: slotCount must be a non-negative integer");
  }
  Napi::TypedArray hyper = info[1].As<Napi::TypedArray>();
  if (hyper.TypedArrayType() != napi_float64_array || hyper.ElementLength() != kHyperLength) {
    throw Napi::TypeError::New(env, "ParamGroup: hyper must be a Float64Array of length 8");
  }
  slots_.resize(static_cast<size_t>(count));
  hyper_ = hyper.As<Napi::Float64Array>().Data();
  hyper_ref_ = Napi::Persistent(hyper.As<Napi::Float64Array>());
}

// bind(slot, role, array | null)
Napi::Value ParamGroup::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber()) {
    throw Napi::TypeError::New(env, "bind(slot: number, role: number, array: TypedArray | null)");
  }
  const int64_t slot = info[0].As<Napi::Number>().Int64Value();
  const int64_t role = info[1].As<Napi::Number>().Int64Value();
  if (slot < 0 || static_cast<size_t>(slot) >= slots_.size() || role < 0 || role >= kRoleCount) {
    throw Napi::RangeError::New(env, "bind: slot " + std::to_string(slot) + " or role " +
                                         std::to_string(role) + " out of range");
  }
  BoundArray& bound = slots_[static_cast<size_t>(slot)][static_cast<size_t>(role)];
  if (info[2].IsNull() || info[2].IsUndefined()) {
    bound = BoundArray{};
    return env.Undefined();
  }
  if (!info[2].IsTypedArray()) {
    throw Napi::TypeError::New(env, std::string("bind: ") + kRoleNames[role] +
                                        " must be a Float32Array or Float64Array");
  }
  Napi::TypedArray array = info[2].As<Napi::TypedArray>();
  BoundArray next;
  switch (array.TypedArrayType()) {
    case napi_float32_array:
      next.dtype = DType::kFloat32;
      next.data = array.As<Napi::Float32Array>().Data();
      break;
    case napi_float64_array:
      next.dtype = DType::kFloat64;
      next.data = array.As<Napi::Float64Array>().Data();
      break;
    default:
      throw Napi::TypeError::New(env, std::string("bind: ") + kRoleNames[role] +
                                          " must be a Float32Array or Float64Array");
  }
  next.length = array.ElementLength();
  next.ref = Napi::Persistent(array);
  bound = std::move(next);
  return env.Undefined();
}

// rmspropStep(): one RMSprop step over every slot whose grad is bound. All
// slots are checked before any is written, so a bad slot changes nothing.
Napi::Value ParamGroup::RmspropStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RmspropHyper h;
  h.lr = hyper_[0];
  h.alpha = hyper_[1];
  h.eps = hyper_[2];
  h.weight_decay = hyper_[3];
  h.momentum = hyper_[4];
  h.centered = hyper_[5] != 0;
  h.maximize = hyper_[6] != 0;
  h.lerp_grad_avg = hyper_[7] != 0;

  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s[kGrad].ref.IsEmpty()) continue;  // no grad: skipped, as in PyTorch
    const bool needs[kRoleCount] = {true, true, true, h.momentum > 0, h.centered};
    for (int r = 0; r < kRoleCount; ++r) {
      if (!needs[r]) continue;
      const BoundArray& a = s[r];
      if (a.ref.IsEmpty() || a.length != s[kParam].length || a.dtype != s[kParam].dtype) {
        throw Napi::Error::New(env, "simd-optim internal error: slot " + std::to_string(i) + " " +
                                        kRoleNames[r] + " is unbound or does not match its param");
      }
      if (r != kGrad && overlaps(a, s[kGrad])) {
        throw Napi::Error::New(env, "simd-optim: the grad of param slot " + std::to_string(i) +
                                        " shares memory with its " + kRoleNames[r]);
      }
    }
  }

  const KernelTable& kernels = active_kernels();
  const RmspropConsts<float> k32(h);
  const RmspropConsts<double> k64(h);
  for (Slot& s : slots_) {
    if (s[kGrad].ref.IsEmpty()) continue;
    void* buf = h.momentum > 0 ? s[kMomentumBuffer].data : nullptr;
    void* gavg = h.centered ? s[kGradAvg].data : nullptr;
    const size_t n = s[kParam].length;
    if (s[kParam].dtype == DType::kFloat32) {
      kernels.rmsprop_f32(k32, n, static_cast<float*>(s[kParam].data),
                          static_cast<const float*>(s[kGrad].data),
                          static_cast<float*>(s[kSquareAvg].data), static_cast<float*>(buf),
                          static_cast<float*>(gavg));
    } else {
      kernels.rmsprop_f64(k64, n, static_cast<double*>(s[kParam].data),
                          static_cast<const double*>(s[kGrad].data),
                          static_cast<double*>(s[kSquareAvg].data), static_cast<double*>(buf),
                          static_cast<double*>(gavg));
    }
  }
  return env.Undefined();
}

}  // namespace simd_optim
