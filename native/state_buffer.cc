#include "state_buffer.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <memory>
#include <vector>

#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#endif
// Transparent huge pages: Linux with madvise(MADV_HUGEPAGE).
#if defined(__linux__) && defined(MADV_HUGEPAGE)
#define SIMD_OPTIM_THP 1
#endif

namespace simd_optim {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kPage = 4096;
// From this size (4K floats) a state buffer is placed relative to its
// parameter's data within a page: the params and state of tensors this size,
// allocated one after another, land at nearly the same page offsets, where
// loads wait on stores (below). It costs up to 4 KiB per buffer. Smaller
// buffers stay where the allocator puts them: placed by page offset, many of
// them pack into the same cache sets. Measurements: bench/notes.md.
constexpr size_t kPagePlacementMinBytes = size_t{16} << 10;
// From this size a buffer starts on a 2 MiB boundary (plus its page offset)
// and is advised to the kernel as transparent huge pages (Linux). Streaming
// through 4 KiB pages costs a TLB miss every 64 lines of every stream,
// dearer still in a VM (two-level page walks). Below 2 MiB no huge page fits.
constexpr size_t kHugePage = size_t{2} << 20;

// SIMD_OPTIM_HUGE_PAGES=0 keeps every buffer on ordinary pages.
bool huge_pages_enabled() {
#if defined(SIMD_OPTIM_THP)
  static const bool enabled = [] {
    const char* value = std::getenv("SIMD_OPTIM_HUGE_PAGES");
    return !(value != nullptr && std::strcmp(value, "0") == 0);
  }();
  return enabled;
#else
  return false;
#endif
}

// Asks the kernel to back the whole 2 MiB pages within [begin, end) with huge
// pages when first touched. Rounding inward keeps the page that holds the end
// of the data on ordinary pages, so a buffer never costs more than its size
// (the one before its start is its own padding). Only a hint: a failure (THP
// compiled out, or "never") leaves ordinary pages, which are as correct.
void advise_huge_pages(const void* begin, const void* end) {
#if defined(SIMD_OPTIM_THP)
  const uintptr_t first = (reinterpret_cast<uintptr_t>(begin) + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = reinterpret_cast<uintptr_t>(end) / kHugePage * kHugePage;
  if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)begin;
  (void)end;
#endif
}

// Whether the system would give a mapping of `bytes` now (the overcommit
// check that V8's own allocation would fail). Small sizes pass unasked.
bool can_map(size_t bytes) {
#if defined(__unix__) || defined(__APPLE__)
  if (bytes < (size_t{1} << 30)) return true;
  void* probe = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (probe == MAP_FAILED) return false;
  munmap(probe, bytes);
  return true;
#else
  (void)bytes;
  return true;
#endif
}

// Where a buffer's data starts: at `offset` modulo `align`.
//
// Why the page offset: a load whose address matches, in its low 12 bits, a
// store still in the store buffer waits for that store (4K aliasing). The
// kernels walk p, g and the state forward together, so if a loaded stream
// sits a little below a stored one within the page, every load of it trails
// a store of the other by one vector. V8 puts large arrays 16 bytes into a
// page; 64-byte aligned state then sat 48 bytes above the grad, and the step
// ran at up to half speed. Each state buffer therefore starts a different
// quarter page after its parameter's cache line: no two streams are close
// within a page, and the state stays 64-byte aligned (the parameter's own
// page offset, also free of aliasing, would split every state access across
// two cache lines).
struct Placement {
  size_t align;
  size_t offset;
  bool huge;  // advise huge pages
};

Placement placement_for(size_t bytes, const void* like, int quarter) {
  const bool huge = bytes >= kHugePage && huge_pages_enabled();
  if (like == nullptr || bytes < kPagePlacementMinBytes) return {huge ? kHugePage : kAlign, 0, huge};
  const size_t line = reinterpret_cast<uintptr_t>(like) % kPage / kAlign * kAlign;
  return {huge ? kHugePage : kPage, (line + static_cast<size_t>(quarter) * (kPage / 4)) % kPage, huge};
}

// What the finalizer of an external buffer needs to free it.
struct Allocation {
  void* base;
  size_t bytes;  // as reported to V8; when mapped, the mapping's length
  bool mapped;   // from map_huge (munmap), else from aligned_alloc (free)
};

// Node caps external ArrayBuffers at 4 GiB (Node 20: "Cannot create a Buffer
// larger than 0x100000000 bytes"); larger state is a V8 ArrayBuffer.
constexpr size_t kMaxExternalBytes = size_t{1} << 32;

#if defined(SIMD_OPTIM_THP)
// A zeroed private mapping of `size` bytes (a multiple of 4 KiB) that starts
// on a 2 MiB boundary, with its whole 2 MiB pages before `data_end` advised as
// huge pages and the rest advised against them (under THP "always" the page
// holding the end could otherwise cost up to 2 MiB more than the buffer).
// Mapped directly, not taken from malloc: glibc may serve an aligned block
// from its heap, where the advice would outlive the block, and ASan fills
// the first 4 KiB of each allocation before any advice could apply.
void* map_huge(size_t size, size_t data_end) {
  const size_t span = size + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t base = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (base > start) munmap(raw, base - start);
  if (start + span > base + size) munmap(reinterpret_cast<void*>(base + size), start + span - (base + size));
  advise_huge_pages(reinterpret_cast<void*>(base), reinterpret_cast<void*>(base + data_end));
  const size_t huge = data_end / kHugePage * kHugePage;  // where the advised whole pages end
  if (size > huge) (void)madvise(reinterpret_cast<void*>(base + huge), size - huge, MADV_NOHUGEPAGE);
  return reinterpret_cast<void*>(base);
}
#endif

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

// Returns an allocation's memory (not the Allocation itself).
void release(const Allocation& allocation) {
#if defined(SIMD_OPTIM_THP)
  if (allocation.mapped) {
    munmap(allocation.base, allocation.bytes);
    return;
  }
#endif
  std::free(allocation.base);
}

void free_allocation(napi_env env, void* /*data*/, void* hint) {
  auto* allocation = static_cast<Allocation*>(hint);
  release(*allocation);
  report_external(env, -static_cast<int64_t>(allocation->bytes));
  delete allocation;
}

Napi::TypedArray view(Napi::Env env, DType dtype, Napi::ArrayBuffer buffer, size_t offset,
                      size_t length) {
  if (dtype == DType::kFloat32) return Napi::Float32Array::New(env, length, buffer, offset);
  return Napi::Float64Array::New(env, length, buffer, offset);
}

// Zeroed memory for `bytes` bytes of data that start `at.offset` bytes past
// an `at.align` boundary; base is null when out of memory.
Allocation allocate_zeroed(size_t bytes, Placement at) {
#if defined(SIMD_OPTIM_THP)
  if (at.huge) {
    const size_t size = (at.offset + bytes + kPage - 1) / kPage * kPage;
    return {map_huge(size, at.offset + bytes), size, true};  // zeroed by the kernel
  }
#endif
  // aligned_alloc wants a multiple of the alignment.
  const size_t padded = (at.offset + bytes + at.align - 1) / at.align * at.align;
  Allocation allocation{std::aligned_alloc(at.align, padded), padded, false};
  if (allocation.base != nullptr) std::memset(static_cast<char*>(allocation.base) + at.offset, 0, bytes);
  return allocation;
}

size_t element_bytes(DType dtype) { return dtype == DType::kFloat32 ? sizeof(float) : sizeof(double); }

// `bytes` at `data` as an external ArrayBuffer whose finalizer gets `hint`,
// viewed as `length` elements. Empty when the runtime refuses external
// buffers: no finalizer will run then, and `refused` undoes what `hint`
// holds. Any other failure may come after the buffer was made (a terminating
// worker), whose finalizer then has the hint: this only throws.
template <typename Refused>
Napi::TypedArray external_view(Napi::Env env, DType dtype, void* data, size_t bytes, size_t length,
                               napi_finalize finalize, void* hint, Refused refused) {
  napi_value buffer = nullptr;
  const napi_status status = napi_create_external_arraybuffer(env, data, bytes, finalize, hint, &buffer);
  if (status == napi_ok) return view(env, dtype, Napi::ArrayBuffer(env, buffer), 0, length);
  if (status == napi_no_external_buffers_allowed) {
    refused();
    external_allowed().store(false);
    return Napi::TypedArray();
  }
  NAPI_THROW_IF_FAILED(env, status, Napi::TypedArray());
  return Napi::TypedArray();
}

// Returns an empty value when the runtime refuses external buffers.
Napi::TypedArray try_external(Napi::Env env, DType dtype, size_t length, size_t bytes, Placement at) {
  auto allocation = std::make_unique<Allocation>(allocate_zeroed(bytes, at));
  if (allocation->base == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating optimizer state");
  const size_t reserved = allocation->bytes;
  Allocation* owned = allocation.release();  // the buffer's finalizer frees it
  Napi::TypedArray array =
      external_view(env, dtype, static_cast<char*>(owned->base) + at.offset, bytes, length, free_allocation, owned, [owned] {
        release(*owned);
        delete owned;
      });
  if (!array.IsEmpty()) report_external(env, static_cast<int64_t>(reserved));
  return array;
}

// One allocation carved into arrays that each have an ArrayBuffer of their
// own: users see no sharing (structuredClone copies one array, a detach hits
// one array), yet the arrays sit together on the allocation's huge pages.
// The allocation is unmapped when the last holder lets go: each array's
// finalizer, and whoever carves it (an arena, or alloc_state_views). An
// array collected before that gives its whole pages back at once, so that a
// long-lived neighbour does not keep them.
struct SharedAllocation {
  Allocation memory;
  size_t holders = 1;  // its carver; finalizers run on the JS thread of its env
};

void let_go(napi_env env, SharedAllocation* shared) {
  if (--shared->holders > 0) return;
  release(shared->memory);
  report_external(env, -static_cast<int64_t>(shared->memory.bytes));
  delete shared;
}

// An array carved from a shared allocation: the finalizer's hint.
struct Carved {
  SharedAllocation* shared;
  size_t at;  // byte offset in the allocation
  size_t bytes;
};

// Returns the whole pages of a collected array to the kernel (their
// neighbours may live on); the allocation never hands them out again.
void discard_pages(const Carved& carved) {
#if defined(__linux__)
  const uintptr_t begin = reinterpret_cast<uintptr_t>(carved.shared->memory.base) + carved.at;
  const uintptr_t first = (begin + kPage - 1) / kPage * kPage;
  const uintptr_t last = (begin + carved.bytes) / kPage * kPage;
  if (last > first) (void)madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);  // only a hint
#else
  (void)carved;
#endif
}

void let_go_of_carved(napi_env env, void* /*data*/, void* hint) {
  std::unique_ptr<Carved> carved(static_cast<Carved*>(hint));
  if (carved->shared->holders > 1) discard_pages(*carved);
  let_go(env, carved->shared);
}

// A zeroed shared allocation of at least `bytes`, page-aligned (2 MiB-aligned
// and advised as huge pages from 2 MiB); null when out of memory.
SharedAllocation* allocate_shared(Napi::Env env, size_t bytes) {
  const bool huge = bytes >= kHugePage && huge_pages_enabled();
  Allocation memory = allocate_zeroed(bytes, {huge ? kHugePage : kPage, 0, huge});
  if (memory.base == nullptr) return nullptr;
  report_external(env, static_cast<int64_t>(memory.bytes));
  return new SharedAllocation{memory};
}

// An array of `length` elements at byte `at` of `shared`, in a new external
// buffer; empty when the runtime refuses external buffers.
Napi::TypedArray carve(Napi::Env env, SharedAllocation* shared, size_t at, DType dtype, size_t length) {
  const size_t bytes = length * element_bytes(dtype);
  auto* carved = new Carved{shared, at, bytes};  // the finalizer's
  ++shared->holders;
  return external_view(env, dtype, static_cast<char*>(shared->memory.base) + at, bytes, length, let_go_of_carved,
                       carved, [shared, carved] {
                         --shared->holders;
                         delete carved;
                       });
}

// A hold on a shared allocation that ends with its scope, also when it throws.
struct Hold {
  Napi::Env env;
  SharedAllocation* shared;
  void let_go() {
    if (shared != nullptr) simd_optim::let_go(env, shared);
    shared = nullptr;
  }
  ~Hold() { let_go(); }
};

// Where alloc_zeros carves its arrays: one per env (instance data), each a
// run of page-aligned arrays through 16 MiB allocations. Once the next array
// does not fit, the arena moves to a new allocation and lets go of the old,
// which is unmapped with its last array.
constexpr size_t kArenaBytes = size_t{16} << 20;

struct Arena {
  SharedAllocation* current = nullptr;
  size_t used = 0;
};

void end_arena(Napi::Env env, Arena* arena) {
  if (arena->current != nullptr) let_go(env, arena->current);
  delete arena;
}

}  // namespace

bool external_buffers_enabled() { return external_allowed().load(); }

bool huge_pages_advised() { return huge_pages_enabled(); }

Napi::TypedArray alloc_state(Napi::Env env, DType dtype, size_t length, const void* like, int quarter) {
  const size_t elem = element_bytes(dtype);
  if (length > (SIZE_MAX - 2 * kHugePage) / elem) throw Napi::RangeError::New(env, "simd-optim: state buffer too large");
  const size_t bytes = length * elem;
  const Placement at = placement_for(bytes, like, quarter);
  if (bytes > 0 && bytes <= kMaxExternalBytes && external_buffers_enabled()) {
    Napi::TypedArray external = try_external(env, dtype, length, bytes, at);
    if (!external.IsEmpty()) return external;
  }
  // V8 aborts the process when it cannot allocate an ArrayBuffer (here: past
  // Node's 4 GiB cap on external buffers). Ask the system first, so that
  // running out of memory is an error the caller can catch.
  if (!can_map(bytes + kPage)) {
    throw Napi::RangeError::New(env, "simd-optim: cannot allocate " + std::to_string(bytes) + " bytes (out of memory)");
  }
  // V8 zero-fills new ArrayBuffers and never moves their backing store.
  // Placed within a page only, even from 2 MiB: a 2 MiB boundary would cost
  // up to 2 MiB more than the state itself (4 MiB for a 2 MiB buffer).
  const size_t align = at.huge ? kPage : at.align;
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, bytes + align);
  const size_t address = reinterpret_cast<uintptr_t>(buffer.Data()) % align;
  const size_t offset = (at.offset + align - address) % align;
  // V8 zero-filled it, but the pages of a fresh mapping are only touched by
  // use: the whole 2 MiB pages inside it are advised (those the ends cut are lost).
  char* data = static_cast<char*>(buffer.Data()) + offset;
  if (at.huge) advise_huge_pages(buffer.Data(), data + bytes);
  return view(env, dtype, buffer, offset, length);
}

Napi::Array alloc_state_views(Napi::Env env, DType dtype, const std::vector<size_t>& lengths,
                              const std::vector<const void*>& likes, int quarter) {
  const size_t elem = element_bytes(dtype);
  // Lay the arrays out in order, each where alloc_state would place it
  // within a page (the allocation starts on a page boundary).
  std::vector<size_t> starts(lengths.size());
  size_t end = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (lengths[i] > kMaxExternalBytes / elem) throw Napi::RangeError::New(env, "simd-optim: state buffer too large");
    const size_t bytes = lengths[i] * elem;
    const Placement at = placement_for(bytes, likes[i], quarter);
    const size_t modulus = std::min(at.align, kPage);
    const size_t start = end + (at.offset % modulus + modulus - end % modulus) % modulus;
    if (start > SIZE_MAX / 4 - bytes) throw Napi::RangeError::New(env, "simd-optim: state buffers too large");
    starts[i] = start;
    end = start + bytes;
  }
  Napi::Array out = Napi::Array::New(env, lengths.size());
  Hold hold{env, nullptr};  // the carver's hold on the allocation
  if (end > 0 && external_buffers_enabled()) {
    hold.shared = allocate_shared(env, end);
    if (hold.shared == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating optimizer state");
  }
  for (size_t i = 0; i < lengths.size(); ++i) {
    Napi::TypedArray array;
    if (hold.shared != nullptr && lengths[i] > 0) {
      array = carve(env, hold.shared, starts[i], dtype, lengths[i]);
      if (array.IsEmpty()) hold.let_go();  // refused: so will the rest be
    }
    // Empty, or the runtime refused external buffers: an allocation of its own.
    if (array.IsEmpty()) array = alloc_state(env, dtype, lengths[i], likes[i], quarter);
    out.Set(static_cast<uint32_t>(i), array);
  }
  return out;
}

Napi::TypedArray alloc_zeros(Napi::Env env, DType dtype, size_t length) {
  const size_t elem = element_bytes(dtype);
  if (length == 0 || length > kArenaBytes / elem) throw Napi::RangeError::New(env, "allocZeros: length out of range");
  const size_t bytes = length * elem;
  if (external_buffers_enabled()) {
    Arena* arena = env.GetInstanceData<Arena>();
    if (arena == nullptr) {
      arena = new Arena;
      env.SetInstanceData<Arena, end_arena>(arena);
    }
    size_t start = (arena->used + kPage - 1) / kPage * kPage;
    if (arena->current == nullptr || start > kArenaBytes - bytes) {
      SharedAllocation* next = allocate_shared(env, kArenaBytes);
      if (next == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating zeros");
      if (arena->current != nullptr) let_go(env, arena->current);
      arena->current = next;
      start = 0;
    }
    Napi::TypedArray array = carve(env, arena->current, start, dtype, length);
    if (!array.IsEmpty()) {
      arena->used = start + bytes;
      return array;
    }
    let_go(env, arena->current);  // refused: so will every later array be
    arena->current = nullptr;
    arena->used = 0;
  }
  return dtype == DType::kFloat32 ? Napi::TypedArray(Napi::Float32Array::New(env, length))
                                  : Napi::TypedArray(Napi::Float64Array::New(env, length));
}

namespace {

// A load buffer's finalizer: frees the memory (V8 takes the buffer's bytes
// off its count itself; see alloc_load_buffer).
void free_load_buffer(napi_env /*env*/, void* /*data*/, void* hint) {
  auto* allocation = static_cast<Allocation*>(hint);
  release(*allocation);
  delete allocation;
}

}  // namespace

Napi::Value alloc_load_buffer(Napi::Env env, size_t bytes) {
  if (bytes == 0 || !external_buffers_enabled() || bytes > kMaxExternalBytes) return env.Undefined();
  // Page-aligned, on ordinary pages, not zeroed: the caller overwrites every
  // byte before anyone sees the buffer. Not advised as huge pages: under THP
  // defrag "madvise" a first touch may wait for the kernel to compact memory,
  // and loads ran from 2x faster to 3x slower, by the machine's mood.
  const size_t padded = (bytes + kPage - 1) / kPage * kPage;
  auto allocation = std::make_unique<Allocation>(Allocation{std::aligned_alloc(kPage, padded), padded, false});
  if (allocation->base == nullptr) throw Napi::Error::New(env, "simd-optim: out of memory allocating a tensor to load");
  Allocation* owned = allocation.release();
  napi_value buffer = nullptr;
  const napi_status status = napi_create_external_arraybuffer(env, owned->base, bytes, free_load_buffer, owned, &buffer);
  if (status != napi_ok) {
    if (status == napi_no_external_buffers_allowed) {
      release(*owned);
      delete owned;
      external_allowed().store(false);
      return env.Undefined();
    }
    NAPI_THROW_IF_FAILED(env, status, Napi::Value());  // the finalizer may have the allocation: not freed here
  }
  // V8 counted the buffer as it made it; take the count back, so that a load
  // of many tensors does not find the count past V8's limit at every one of
  // them and collect each time. The caller reports the load's bytes once,
  // when it is done (count_external), and V8 gives them back when it frees
  // the buffer. (Taken back before the buffer exists, a GC in between would
  // set the limit from the lowered count and make things worse.)
  report_external(env, -static_cast<int64_t>(bytes));
  return Napi::Value(env, buffer);
}

void count_external(Napi::Env env, int64_t bytes) { report_external(env, bytes); }

}  // namespace simd_optim
