// One mmap per file, shared by the ArrayBuffers made over it and counted:
// each buffer (and the JS handle) holds a reference, and the last one to be
// collected unmaps. One mapping per file rather than per tensor keeps a model
// of 100,000 tensors within the kernel's limit on mappings per process.
#include "file_map.h"

#include <algorithm>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "state_buffer.h"

#ifndef _WIN32
#include <sys/mman.h>
#include <sys/stat.h>
#endif

namespace simd_optim {
namespace {

class Mapping {
 public:
  Mapping(void* base, size_t size) : base_(base), size_(size) {}
  uint8_t* base() const { return static_cast<uint8_t*>(base_); }
  size_t size() const { return size_; }
  void retain() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
#ifndef _WIN32
    if (base_ != nullptr) munmap(base_, size_);
#endif
    delete this;
  }

 private:
  ~Mapping() = default;
  void* base_;
  size_t size_;
  std::atomic<size_t> refs_{1};
};

// A non-negative integer below 2^53, or -1.
double whole_number(const Napi::Value& value) {
  if (!value.IsNumber()) return -1;
  const double v = value.As<Napi::Number>().DoubleValue();
  if (!(v >= 0 && v <= 9007199254740991.0) || v != static_cast<double>(static_cast<uint64_t>(v))) return -1;
  return v;
}

std::string errno_text(const char* what, int error) { return std::string(what) + ": " + std::strerror(error); }

struct BufferHint {
  Mapping* mapping;
  int64_t uncounted;
};

// Marks the handles mapFile makes, so that mappedBuffer takes no other External.
const napi_type_tag kMappingTag = {0x73696d646f707469ULL, 0x6d2d6d6170706564ULL};

// The longest external buffer every supported Node takes (Node 20's limit). Past
// it, Node calls the finalizer itself and then fails, so it must not be asked.
constexpr double kMaxBuffer = 4294967296.0;

}  // namespace

Napi::Value MapFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double fd = info.Length() == 2 ? whole_number(info[0]) : -1;
  const double size = info.Length() == 2 ? whole_number(info[1]) : -1;
  if (fd < 0 || fd > 2147483647.0 || size < 0) throw Napi::TypeError::New(env, "mapFile(fd: number, size: number)");
  if (size > static_cast<double>(SIZE_MAX)) throw Napi::RangeError::New(env, "mapFile: the file is larger than this process can map");
#ifdef _WIN32
  throw Napi::Error::New(env, "mapping files is not supported on Windows");
#else
  struct stat st;
  if (fstat(static_cast<int>(fd), &st) != 0) throw Napi::Error::New(env, errno_text("fstat", errno));
  // The caller read the file's layout at this size: a file rewritten since would be mapped wrongly.
  if (static_cast<double>(st.st_size) != size) {
    throw Napi::Error::New(env, "the file changed size while it was being loaded (" + std::to_string(static_cast<uint64_t>(size)) +
                                    " bytes, now " + std::to_string(static_cast<int64_t>(st.st_size)) + ")");
  }
  void* base = nullptr;
  if (size > 0) {
    // MAP_PRIVATE: writes go to private pages, never to the file. MAP_NORESERVE: the kernel does
    // not charge the whole file against its commit limit, so a file larger than RAM maps too.
    base = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
                static_cast<int>(fd), 0);
    if (base == MAP_FAILED) throw Napi::Error::New(env, errno_text("mmap", errno));
  }
  Mapping* mapping = new Mapping(base, static_cast<size_t>(size));
  Napi::External<Mapping> handle = Napi::External<Mapping>::New(env, mapping, [](Napi::Env, Mapping* m) { m->release(); });
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, handle, &kMappingTag), Napi::Value());
  return handle;
#endif
}

Napi::Value LoadBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double bytes = info.Length() == 1 ? whole_number(info[0]) : -1;
  if (bytes < 0) throw Napi::TypeError::New(env, "loadBuffer(bytes: number)");
  return alloc_load_buffer(env, static_cast<size_t>(std::min(bytes, kMaxBuffer + 1)));
}

Napi::Value CountExternal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const double bytes = info.Length() == 1 ? whole_number(info[0]) : -1;
  if (bytes < 0) throw Napi::TypeError::New(env, "countExternal(bytes: number)");
  count_external(env, static_cast<int64_t>(bytes));
  return env.Undefined();
}

Napi::Value MappedBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* usage = "mappedBuffer(handle, offset: number, length: number, uncounted?: boolean)";
  bool tagged = false;
  if (info.Length() >= 1 && info[0].IsExternal()) {
    NAPI_THROW_IF_FAILED(env, napi_check_object_type_tag(env, info[0], &kMappingTag, &tagged), Napi::Value());
  }
  if (info.Length() < 3 || info.Length() > 4 || !tagged || (info.Length() == 4 && !info[3].IsBoolean())) {
    throw Napi::TypeError::New(env, usage);
  }
  Mapping* mapping = info[0].As<Napi::External<Mapping>>().Data();
  const double offset = whole_number(info[1]);
  const double length = whole_number(info[2]);
  if (mapping == nullptr || offset < 0 || length < 0 || offset + length > static_cast<double>(mapping->size())) {
    throw Napi::RangeError::New(env, "mappedBuffer: the range is not inside the mapped file");
  }
  if (length > kMaxBuffer) throw Napi::RangeError::New(env, "mappedBuffer: more than the 4 GiB one external buffer holds");
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);
  const bool uncounted = info.Length() == 4 && info[3].As<Napi::Boolean>().Value();
  mapping->retain();
  BufferHint* hint = new BufferHint{mapping, uncounted ? static_cast<int64_t>(length) : 0};

  // If this throws, the hint and its reference leak rather than risk a
  // double release: whether Node ran the finalizer before failing is not said.
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, mapping->base() + static_cast<size_t>(offset), static_cast<size_t>(length),
      [](Napi::Env finalize_env, void*, BufferHint* h) {
        // Give back what the creation took off V8's count of external memory.
        if (h->uncounted != 0) Napi::MemoryManagement::AdjustExternalMemory(finalize_env, h->uncounted);
        h->mapping->release();
        delete h;
      },
      hint);
  // V8 counted the buffer as external memory as it made it; the mapping costs
  // nothing until touched, so the caller may have the count taken back.
  // Taking it back before the buffer exists would be worse: a GC in between
  // sets V8's limit from the lowered count, and then every allocation
  // after the buffer is made finds the count over that limit and collects.
  if (uncounted) Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(length));
  return buffer;
}

}  // namespace simd_optim
