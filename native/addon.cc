// Node-API entry point: exports the ParamGroup class, the state allocator and
// the ISA controls. Argument checks here are the cheap second line of defence;
// lib/ validates everything first and words the user-facing errors.
#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dispatch.h"
#include "kernels/algorithms.h"
#include "array_list.h"
#include "elementwise.h"
#include "file_map.h"
#include "param_group.h"
#include "state_buffer.h"
#include "test_exports.h"

namespace simd_optim {
namespace {

// The address of a typed array's first element.
const void* data_of(const Napi::TypedArray& view) {
  return static_cast<const uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
}

// A non-negative integer length, or -1.
double length_or_invalid(const Napi::Value& value) {
  if (!value.IsNumber()) return -1;
  const double length = value.As<Napi::Number>().DoubleValue();
  if (!(length >= 0 && length <= 9007199254740991.0) ||
      length != static_cast<double>(static_cast<uint64_t>(length))) {
    return -1;
  }
  return length;
}

// 'float32' or 'float64' as a DType; false for any other value.
bool dtype_of(const Napi::Value& value, DType* dtype) {
  if (!value.IsString()) return false;
  const std::string name = value.As<Napi::String>().Utf8Value();
  if (name != "float32" && name != "float64") return false;
  *dtype = name == "float32" ? DType::kFloat32 : DType::kFloat64;
  return true;
}

// allocState(dtype: 'float32' | 'float64', length: number, like?: TypedArray, quarter?: 1 | 2 | 3)
Napi::Value AllocState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool has_like = info.Length() >= 3 && !info[2].IsUndefined();
  const bool has_quarter = info.Length() == 4 && !info[3].IsUndefined();
  // Not a number: NaN, refused below with the rest.
  const double quarter =
      !has_quarter ? 1 : info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : std::nan("");
  if (info.Length() < 2 || info.Length() > 4 || !info[0].IsString() || !info[1].IsNumber() ||
      (has_like && !info[2].IsTypedArray()) || !(quarter == 1 || quarter == 2 || quarter == 3)) {
    throw Napi::TypeError::New(
        env, "allocState(dtype: 'float32' | 'float64', length: number, like?: TypedArray, quarter?: 1 | 2 | 3)");
  }
  const double length = length_or_invalid(info[1]);
  if (length < 0) throw Napi::RangeError::New(env, "allocState: length must be a non-negative integer");
  DType dtype = DType::kFloat32;
  if (!dtype_of(info[0], &dtype)) throw Napi::TypeError::New(env, "allocState: dtype must be 'float32' or 'float64'");
  return alloc_state(env, dtype, static_cast<size_t>(length),
                     has_like ? data_of(info[2].As<Napi::TypedArray>()) : nullptr, static_cast<int>(quarter));
}

// allocStateViews(dtype, lengths: number[], likes: TypedArray[], quarter: 1 | 2 | 3): TypedArray[]
Napi::Value AllocStateViews(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "allocStateViews(dtype: 'float32' | 'float64', lengths: number[], likes: TypedArray[], quarter: 1 | 2 | 3)";
  DType dtype = DType::kFloat32;
  if (info.Length() != 4 || !dtype_of(info[0], &dtype) || !info[1].IsArray() || !info[2].IsArray() ||
      !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, usage);
  }
  const double quarter = info[3].As<Napi::Number>().DoubleValue();
  Napi::Array lengths = info[1].As<Napi::Array>();
  Napi::Array likes = info[2].As<Napi::Array>();
  if (!(quarter == 1 || quarter == 2 || quarter == 3) || lengths.Length() != likes.Length()) {
    throw Napi::TypeError::New(env, usage);
  }
  std::vector<size_t> sizes(lengths.Length());
  std::vector<const void*> addresses(lengths.Length());
  for (uint32_t i = 0; i < lengths.Length(); ++i) {
    const double length = length_or_invalid(lengths.Get(i));
    const Napi::Value like = likes.Get(i);
    if (length < 0 || !like.IsTypedArray()) throw Napi::TypeError::New(env, usage);
    sizes[i] = static_cast<size_t>(length);
    addresses[i] = data_of(like.As<Napi::TypedArray>());
  }
  return alloc_state_views(env, dtype, sizes, addresses, static_cast<int>(quarter));
}

// allocZeros(dtype, length): a zeroed array carved from the env's arena.
Napi::Value AllocZeros(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DType dtype = DType::kFloat32;
  const double length = info.Length() == 2 ? length_or_invalid(info[1]) : -1;
  if (info.Length() != 2 || !dtype_of(info[0], &dtype) || length < 0) {
    throw Napi::TypeError::New(env, "allocZeros(dtype: 'float32' | 'float64', length: number)");
  }
  return alloc_zeros(env, dtype, static_cast<size_t>(length));
}

// info(): { isa, isas, externalBuffers, hugePages, isaError }
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("isa", active_kernels().isa);
  const std::vector<std::string> isas = runnable_isas();
  Napi::Array list = Napi::Array::New(env, isas.size());
  for (size_t i = 0; i < isas.size(); ++i) list.Set(static_cast<uint32_t>(i), isas[i]);
  out.Set("isas", list);
  out.Set("externalBuffers", external_buffers_enabled());
  out.Set("hugePages", huge_pages_advised());
  out.Set("isaError", isa_env_error());
  return out;
}

// algorithms(): each algorithm's layout, in the kernel table's order:
// [{ name, hyper: [...], states: [...], scalars: [...] }]. lib/ checks its
// own layouts against it when the addon loads.
Napi::Value Algorithms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto names = [&](const char* const* list, int count) {
    Napi::Array out = Napi::Array::New(env, static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) out.Set(static_cast<uint32_t>(i), list[i]);
    return out;
  };
  Napi::Array out = Napi::Array::New(env, kAlgorithmCount);
  for (int a = 0; a < kAlgorithmCount; ++a) {
    const AlgorithmInfo& d = algorithm_info(static_cast<Algorithm>(a));
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", d.name);
    entry.Set("hyper", names(d.hyper_names, d.hyper_count));
    entry.Set("states", names(d.state_names, d.state_count));
    entry.Set("scalars", names(d.scalar_names, d.scalar_count));
    out.Set(static_cast<uint32_t>(a), entry);
  }
  return out;
}

// pow(x, y): the C library's pow, as Python's float ** calls it (PyTorch
// computes Adam's bias corrections in Python), for lib/'s per-tensor scalars.
Napi::Value Pow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "pow(x: number, y: number)");
  return Napi::Number::New(env, std::pow(info[0].As<Napi::Number>().DoubleValue(), info[1].As<Napi::Number>().DoubleValue()));
}

// cos(x): the C library's cos, as Python's math.cos calls it (the LR
// schedulers' cosine annealing).
Napi::Value Cos(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "cos(x: number)");
  return Napi::Number::New(env, std::cos(info[0].As<Napi::Number>().DoubleValue()));
}

// setIsa(name): throws if this build or CPU cannot run it.
Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "setIsa(name: string)");
  const std::string error = select_isa(info[0].As<Napi::String>().Utf8Value());
  if (!error.empty()) throw Napi::Error::New(env, error);
  return env.Undefined();
}

}  // namespace
}  // namespace simd_optim

Napi::Object InitSimdOptim(Napi::Env env, Napi::Object exports) {
  using namespace simd_optim;  // NOLINT(build/namespaces)
  register_async_cleanup(env);
  exports.Set("ParamGroup", ParamGroup::Define(env));
  exports.Set("allocState", Napi::Function::New(env, AllocState, "allocState"));
  exports.Set("allocStateViews", Napi::Function::New(env, AllocStateViews, "allocStateViews"));
  exports.Set("allocZeros", Napi::Function::New(env, AllocZeros, "allocZeros"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("algorithms", Napi::Function::New(env, Algorithms, "algorithms"));
  exports.Set("pow", Napi::Function::New(env, Pow, "pow"));
  exports.Set("cos", Napi::Function::New(env, Cos, "cos"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("elementwise", Napi::Function::New(env, Elementwise, "elementwise"));
  exports.Set("listNorm", Napi::Function::New(env, ListNorm, "listNorm"));
  exports.Set("mapList", Napi::Function::New(env, MapList, "mapList"));
  exports.Set("mapFile", Napi::Function::New(env, MapFile, "mapFile"));
  exports.Set("mappedBuffer", Napi::Function::New(env, MappedBuffer, "mappedBuffer"));
  exports.Set("loadBuffer", Napi::Function::New(env, LoadBuffer, "loadBuffer"));
  exports.Set("countExternal", Napi::Function::New(env, CountExternal, "countExternal"));
  register_test_exports(env, exports);
  return exports;
}

NODE_API_MODULE(simd_optim, InitSimdOptim)
