#include "elementwise.h"

#include <cstdint>
#include <string>

#include "dispatch.h"

namespace simd_optim {
namespace {

struct View {
  void* data = nullptr;
  size_t length = 0;
  napi_typedarray_type type = napi_float32_array;
};

View view_of(Napi::Env env, const Napi::Value& value, const char* name) {
  if (!value.IsTypedArray()) throw Napi::TypeError::New(env, std::string("elementwise: ") + name + " must be a typed array");
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  View v;
  v.type = array.TypedArrayType();
  if (v.type != napi_float32_array && v.type != napi_float64_array) {
    throw Napi::TypeError::New(env, std::string("elementwise: ") + name + " must be a Float32Array or Float64Array");
  }
  v.length = array.ElementLength();
  v.data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return v;
}

// Inputs may be the output itself (x.mul_(x) reads each element before
// writing it) but must not overlap it at an offset.
void check_input(Napi::Env env, const View& out, const View& in, const char* name) {
  if (in.type != out.type || in.length != out.length) {
    throw Napi::TypeError::New(env, std::string("elementwise: ") + name + " must match a in dtype and length");
  }
  const size_t bytes = out.length * (out.type == napi_float32_array ? 4 : 8);
  const auto* o = static_cast<const uint8_t*>(out.data);
  const auto* i = static_cast<const uint8_t*>(in.data);
  if (o != i && o < i + bytes && i < o + bytes) {
    throw Napi::RangeError::New(env, std::string("elementwise: ") + name + " partially overlaps a");
  }
}

}  // namespace

Napi::Value Elementwise(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber()) {
    throw Napi::TypeError::New(env, "elementwise(op, a, b, c, s1, s2)");
  }
  const int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op >= kElementwiseOpCount) throw Napi::RangeError::New(env, "elementwise: unknown op " + std::to_string(op));
  const View a = view_of(env, info[1], "a");
  View b, c;
  const bool uses_b = op != static_cast<int>(ElementwiseOp::kMulScalar) && op != static_cast<int>(ElementwiseOp::kAddScalar);
  const bool uses_c = op == static_cast<int>(ElementwiseOp::kAddcmul) || op == static_cast<int>(ElementwiseOp::kAddcdiv);
  if (uses_b) check_input(env, a, b = view_of(env, info[2], "b"), "b");
  if (uses_c) check_input(env, a, c = view_of(env, info[3], "c"), "c");
  const double s1 = info[4].As<Napi::Number>().DoubleValue();
  const double s2 = info[5].As<Napi::Number>().DoubleValue();
  const KernelTable& k = active_kernels();
  const auto kind = static_cast<ElementwiseOp>(op);
  if (a.type == napi_float32_array) {
    k.elementwise_f32(kind, a.length, static_cast<float*>(a.data), static_cast<const float*>(b.data),
                      static_cast<const float*>(c.data), s1, s2);
  } else {
    k.elementwise_f64(kind, a.length, static_cast<double*>(a.data), static_cast<const double*>(b.data),
                      static_cast<const double*>(c.data), s1, s2);
  }
  return env.Undefined();
}

}  // namespace simd_optim
