#include "state_buffer.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace simd_optim {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kPage = 4096;
// From this size a state buffer is placed like its parameter's data within a
// page. Below it the page offset would cost up to 4 KiB per buffer, more than
// 6%, and V8 places small arrays at scattered offsets anyway.
constexpr size_t kPagePlacementMinBytes = size_t{64} << 10;

// Where a buffer's data starts: at `offset` modulo `align`.
//
// Why the page offset: a load whose address matches, in its low 12 bits, a
// store still in the store buffer waits for that store (4K aliasing). The
// kernels walk p, g and the state forward together, so if a loaded stream
// sits a little below a stored one within the page, every load of it trails
// a store of the other by one vector. V8 puts large arrays 16 bytes into a
// page; 64-byte aligned state then sat 48 bytes above the grad, and
// momentum+centered on 100K floats ran at half speed (AVX-512, Zen 4:
// 1650 vs 3370 Melem/s). Each state buffer therefore starts a different
// quarter page after its parameter's cache line: no two streams are close
// within a page, and the state stays 64-byte aligned (the parameter's own
// page offset, also free of aliasing, split every state access across two
// cache lines and measured 10-25% slower in cache).
struct Placement {
  size_t align;
  size_t offset;
};

Placement placement_for(size_t bytes, const void* like, int quarter) {
  if (like == nullptr || bytes < kPagePlacementMinBytes) return {kAlign, 0};
  const size_t line = reinterpret_cast<uintptr_t>(like) % kPage / kAlign * kAlign;
  return {kPage, (line + static_cast<size_t>(quarter) * (kPage / 4)) % kPage};
}

// What the finalizer of an external buffer needs to free it.
struct Allocation {
  void* base;
  size_t bytes;  // as reported to V8
};

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

void free_allocation(napi_env env, void* /*data*/, void* hint) {
  auto* allocation = static_cast<Allocation*>(hint);
  std::free(allocation->base);
  report_external(env, -static_cast<int64_t>(allocation->bytes));
  delete allocation;
}

Napi::TypedArray view(Napi::Env env, DType dtype, Napi::ArrayBuffer buffer, size_t offset,
                      size_t length) {
  if (dtype == DType::kFloat32) return Napi::Float32Array::New(env, length, buffer, offset);
  return Napi::Float64Array::New(env, length, buffer, offset);
}

// Returns an empty value when the runtime refuses external buffers.
Napi::TypedArray try_external(Napi::Env env, DType dtype, size_t length, size_t bytes, Placement at) {
  // aligned_alloc wants a multiple of the alignment.
  const size_t padded = (at.offset + bytes + at.align - 1) / at.align * at.align;
  auto allocation = std::make_unique<Allocation>(Allocation{std::aligned_alloc(at.align, padded), padded});
  if (allocation->base == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating optimizer state");
  std::memset(allocation->base, 0, padded);
  napi_value buffer = nullptr;
  napi_status status = napi_create_external_arraybuffer(env, static_cast<char*>(allocation->base) + at.offset,
                                                        bytes, free_allocation, allocation.get(), &buffer);
  if (status == napi_ok) {
    allocation.release();  // the buffer's finalizer frees it
    report_external(env, static_cast<int64_t>(padded));
    return view(env, dtype, Napi::ArrayBuffer(env, buffer), 0, length);
  }
  std::free(allocation->base);  // the finalizer only runs for a buffer that was created
  if (status == napi_no_external_buffers_allowed) {
    external_allowed().store(false);
    return Napi::TypedArray();
  }
  NAPI_THROW_IF_FAILED(env, status, Napi::TypedArray());
  return Napi::TypedArray();
}

}  // namespace

bool external_buffers_enabled() { return external_allowed().load(); }

Napi::TypedArray alloc_state(Napi::Env env, DType dtype, size_t length, const void* like, int quarter) {
  const size_t elem = dtype == DType::kFloat32 ? sizeof(float) : sizeof(double);
  if (length > (SIZE_MAX - 2 * kPage) / elem) throw Napi::RangeError::New(env, "simd-optim: state buffer too large");
  const size_t bytes = length * elem;
  const Placement at = placement_for(bytes, like, quarter);
  if (bytes > 0 && external_buffers_enabled()) {
    Napi::TypedArray external = try_external(env, dtype, length, bytes, at);
    if (!external.IsEmpty()) return external;
  }
  // V8 zero-fills new ArrayBuffers and never moves their backing store.
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes + at.align);
  const size_t address = reinterpret_cast<uintptr_t>(buffer.Data()) % at.align;
  const size_t offset = (at.offset + at.align - address) % at.align;
  return view(env, dtype, buffer, offset, length);
}

}  // namespace simd_optim
