#include "state_buffer.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace simd_optim {
namespace {

constexpr size_t kAlign = 64;

std::atomic<bool>& external_allowed() {
  static std::atomic<bool> allowed{[] {
    const char* off = std::getenv("SIMD_OPTIM_NO_EXTERNAL_BUFFERS");
    return !(off != nullptr && std::strcmp(off, "1") == 0);
  }()};
  return allowed;
}

// V8 cannot see memory behind external buffers, so it is reported, or V8
// would not collect dropped optimizers before the process runs out of memory.
void report_external(napi_env env, int64_t bytes) {
  int64_t total = 0;
  napi_adjust_external_memory(env, bytes, &total);  // a failure only loses a GC hint
}

void free_aligned(napi_env env, void* data, void* hint) {
  std::free(data);
  report_external(env, -static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint)));
}

Napi::TypedArray view(Napi::Env env, DType dtype, Napi::ArrayBuffer buffer, size_t offset,
                      size_t length) {
  if (dtype == DType::kFloat32) return Napi::Float32Array::New(env, length, buffer, offset);
  return Napi::Float64Array::New(env, length, buffer, offset);
}

// Returns an empty value when the runtime refuses external buffers.
Napi::Value try_external(Napi::Env env, size_t bytes) {
  const size_t padded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* data = std::aligned_alloc(kAlign, padded);
  if (data == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating optimizer state");
  std::memset(data, 0, padded);
  napi_value buffer = nullptr;
  void* size_hint = reinterpret_cast<void*>(static_cast<uintptr_t>(padded));
  napi_status status =
      napi_create_external_arraybuffer(env, data, bytes, free_aligned, size_hint, &buffer);
  if (status == napi_ok) {
    report_external(env, static_cast<int64_t>(padded));
    return Napi::Value(env, buffer);
  }
  std::free(data);  // the finalizer only runs for a buffer that was created
  if (status == napi_no_external_buffers_allowed) {
    external_allowed().store(false);
    return Napi::Value();
  }
  NAPI_THROW_IF_FAILED(env, status, Napi::Value());
  return Napi::Value();
}

}  // namespace

bool external_buffers_enabled() { return external_allowed().load(); }

Napi::TypedArray alloc_state(Napi::Env env, DType dtype, size_t length) {
  const size_t elem = dtype == DType::kFloat32 ? sizeof(float) : sizeof(double);
  if (length > SIZE_MAX / elem - kAlign) throw Napi::RangeError::New(env, "simd-optim: state buffer too large");
  const size_t bytes = length * elem;
  if (bytes > 0 && external_buffers_enabled()) {
    Napi::Value external = try_external(env, bytes);
    if (!external.IsEmpty()) return view(env, dtype, external.As<Napi::ArrayBuffer>(), 0, length);
  }
  // V8 zero-fills new ArrayBuffers and never moves their backing store.
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes + kAlign);
  const auto address = reinterpret_cast<uintptr_t>(buffer.Data());
  const size_t offset = (kAlign - address % kAlign) % kAlign;
  return view(env, dtype, buffer, offset, length);
}

}  // namespace simd_optim
