#include "param_group.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>

#include "dispatch.h"
#include "thread_pool.h"

namespace simd_optim {
namespace {

constexpr size_t kHyperLength = 9;
// Below this many elements per thread, waking threads costs more than it saves.
constexpr size_t kMinElementsPerThread = size_t{1} << 16;
// Chunk boundaries fall on multiples of this many elements within a tensor:
// 64 bytes of float32, so threads never share a cache line of a 64-byte
// aligned state buffer.
constexpr size_t kChunkAlign = 16;

const char* role_name(Algorithm algorithm, int role) {
  static const char* const rmsprop[kRoleCount] = {"param", "grad", "square_avg", "momentum_buffer",
                                                  "grad_avg"};
  static const char* const adagrad[kRoleCount] = {"param", "grad", "sum", "(unused)", "(unused)"};
  return (algorithm == Algorithm::kAdagrad ? adagrad : rmsprop)[role];
}

bool overlaps(const BoundArray& a, const BoundArray& b) {
  if (a.data == nullptr || b.data == nullptr || a.length == 0 || b.length == 0) return false;
  const size_t elem = a.dtype == DType::kFloat32 ? 4 : 8;
  const char* a0 = static_cast<const char*>(a.data);
  const char* b0 = static_cast<const char*>(b.data);
  return a0 < b0 + b.length * elem && b0 < a0 + a.length * elem;
}

size_t default_threads() {
  static const size_t threads = [] {
    const char* env = std::getenv("SIMD_OPTIM_THREADS");
    const long n = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
    return n > 0 ? static_cast<size_t>(n) : ThreadPool::hardware_threads();
  }();
  return threads;
}

// Where part `part` of `parts` begins within a tensor that starts at global
// element `start` and has n elements: the global split point, rounded down
// to a chunk boundary of that tensor. Neighbouring parts compute the same
// boundary, so the parts cover every element exactly once.
size_t local_boundary(const StepWork& w, size_t part, size_t start, size_t n) {
  if (part == 0) return 0;
  if (part == w.parts) return n;
  const size_t split = static_cast<size_t>(
      static_cast<unsigned __int128>(w.total) * part / w.parts);
  if (split <= start) return 0;
  if (split >= start + n) return n;
  return (split - start) / kChunkAlign * kChunkAlign;
}

template <typename T>
T* offset(void* p, size_t lo) {
  return p == nullptr ? nullptr : static_cast<T*>(p) + lo;
}

// Collects a part's RMSprop slices of one dtype and hands them to the kernel
// a batch at a time: one kernel call per batch, not per tensor, and no
// allocation.
template <typename T>
class SliceBatch {
 public:
  using Kernel = void (*)(const RmspropConsts<T>&, const RmspropSlice<T>*, size_t);
  SliceBatch(const RmspropHyper& hyper, Kernel kernel) : consts_(hyper), kernel_(kernel) {}
  ~SliceBatch() { flush(); }

  void add(const ActiveSlot& a, size_t lo, size_t len) {
    slices_[count_] = RmspropSlice<T>{offset<T>(a.data[kParam], lo),        offset<T>(a.data[kGrad], lo),
                                      offset<T>(a.data[kSquareAvg], lo),    offset<T>(a.data[kMomentumBuffer], lo),
                                      offset<T>(a.data[kGradAvg], lo),      len};
    if (++count_ == kCapacity) flush();
  }

  void flush() {
    if (count_ > 0) kernel_(consts_, slices_, count_);
    count_ = 0;
  }

 private:
  static constexpr size_t kCapacity = 64;
  const RmspropConsts<T> consts_;
  const Kernel kernel_;
  RmspropSlice<T> slices_[kCapacity];
  size_t count_ = 0;
};

void run_part(void* context, size_t part) {
  const StepWork& w = *static_cast<const StepWork*>(context);
  SliceBatch<float> f32(w.hyper, w.kernels->rmsprop_f32);
  SliceBatch<double> f64(w.hyper, w.kernels->rmsprop_f64);
  size_t start = 0;
  for (const ActiveSlot& a : *w.active) {
    const size_t n = a.length;
    const size_t lo = local_boundary(w, part, start, n);
    const size_t hi = local_boundary(w, part + 1, start, n);
    start += n;
    if (lo >= hi) continue;
    const size_t len = hi - lo;
    const bool is_f32 = a.dtype == DType::kFloat32;
    if (w.algorithm == Algorithm::kRmsprop) {
      if (is_f32) f32.add(a, lo, len);
      else f64.add(a, lo, len);
      continue;
    }
    AdagradHyper h = w.adagrad;
    h.clr = w.slot_scalars[a.index];
    if (is_f32) {
      w.kernels->adagrad_f32(AdagradConsts<float>(h), len, offset<float>(a.data[kParam], lo),
                             offset<float>(a.data[kGrad], lo), offset<float>(a.data[kSquareAvg], lo));
    } else {
      w.kernels->adagrad_f64(AdagradConsts<double>(h), len, offset<double>(a.data[kParam], lo),
                             offset<double>(a.data[kGrad], lo), offset<double>(a.data[kSquareAvg], lo));
    }
  }
}

// Async steps in flight, so that environment teardown can wait for them.
std::mutex in_flight_mutex;
std::condition_variable in_flight_done;
size_t in_flight = 0;

class StepAsyncWorker : public Napi::AsyncWorker {
 public:
  StepAsyncWorker(Napi::Env env, ParamGroup* group, Napi::Object self, const StepWork& work)
      : Napi::AsyncWorker(env, "simd-optim:stepAsync"),
        group_(group),
        self_(Napi::Persistent(self)),
        work_(work),
        deferred_(Napi::Promise::Deferred::New(env)) {
    std::lock_guard<std::mutex> lock(in_flight_mutex);
    ++in_flight;
  }
  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    run_step(work_);
    std::lock_guard<std::mutex> lock(in_flight_mutex);
    if (--in_flight == 0) in_flight_done.notify_all();
  }
  void OnOK() override {
    group_->set_busy(false);
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    group_->set_busy(false);
    deferred_.Reject(e.Value());
  }

 private:
  ParamGroup* group_;
  Napi::ObjectReference self_;  // keeps the group (and so its bound arrays) alive
  StepWork work_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

void run_step(const StepWork& work) {
  ThreadPool::instance().run(work.parts, run_part, const_cast<StepWork*>(&work));
}

void register_async_cleanup(Napi::Env env) {
  napi_status status = napi_add_env_cleanup_hook(
      env,
      [](void*) {
        std::unique_lock<std::mutex> lock(in_flight_mutex);
        in_flight_done.wait(lock, [] { return in_flight == 0; });
      },
      nullptr);
  NAPI_THROW_IF_FAILED_VOID(env, status);
}

Napi::Function ParamGroup::Define(Napi::Env env) {
  // Writable and configurable, like the methods of a JS class.
  constexpr auto kMethod = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
  return DefineClass(env, "ParamGroup",
                     {InstanceMethod<&ParamGroup::Bind>("bind", kMethod),
                      InstanceMethod<&ParamGroup::RmspropStep>("rmspropStep", kMethod),
                      InstanceMethod<&ParamGroup::RmspropStepAsync>("rmspropStepAsync", kMethod),
                      InstanceMethod<&ParamGroup::AdagradStep>("adagradStep", kMethod),
                      InstanceMethod<&ParamGroup::AdagradStepAsync>("adagradStepAsync", kMethod),
                      InstanceMethod<&ParamGroup::GradsFinite>("gradsFinite", kMethod)});
}

// new ParamGroup(slotCount, hyper: Float64Array(9), slotScalars?: Float64Array(slotCount))
ParamGroup::ParamGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParamGroup>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || info.Length() > 3 || !info[0].IsNumber() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "ParamGroup(slotCount: number, hyper: Float64Array, slotScalars?: Float64Array)");
  }
  const double count = info[0].As<Napi::Number>().DoubleValue();
  if (!(count >= 0 && count <= 1e9) || count != static_cast<double>(static_cast<size_t>(count))) {
    throw Napi::RangeError::New(env, "ParamGroup: slotCount must be a non-negative integer");
  }
  Napi::TypedArray hyper = info[1].As<Napi::TypedArray>();
  if (hyper.TypedArrayType() != napi_float64_array || hyper.ElementLength() != kHyperLength) {
    throw Napi::TypeError::New(env, "ParamGroup: hyper must be a Float64Array of length 9");
  }
  slots_.resize(static_cast<size_t>(count));
  hyper_ = hyper.As<Napi::Float64Array>().Data();
  hyper_ref_ = Napi::Persistent(hyper.As<Napi::Float64Array>());
  if (info.Length() == 3 && !info[2].IsUndefined()) {
    if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[2].As<Napi::TypedArray>().ElementLength() != slots_.size()) {
      throw Napi::TypeError::New(env, "ParamGroup: slotScalars must be a Float64Array of length slotCount");
    }
    Napi::Float64Array scalars = info[2].As<Napi::Float64Array>();
    slot_scalars_ = scalars.Data();
    slot_scalars_ref_ = Napi::Persistent(scalars);
  }
}

void ParamGroup::throw_if_busy(Napi::Env env) const {
  if (busy_) {
    throw Napi::Error::New(env, "simd-optim: a stepAsync() on this param group has not finished yet");
  }
}

// bind(slot, role, array | null)
Napi::Value ParamGroup::Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  throw_if_busy(env);
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
  checked_roles_ = -1;
  if (info[2].IsNull() || info[2].IsUndefined()) {
    bound = BoundArray{};
    return env.Undefined();
  }
  if (!info[2].IsTypedArray()) {
    throw Napi::TypeError::New(env, "bind: role " + std::to_string(role) +
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
      throw Napi::TypeError::New(env, "bind: role " + std::to_string(role) +
                                          " must be a Float32Array or Float64Array");
  }
  next.length = array.ElementLength();
  next.ref = Napi::Persistent(array);
  bound = std::move(next);
  return env.Undefined();
}

StepWork ParamGroup::prepare(Napi::Env env, Algorithm algorithm) {
  throw_if_busy(env);
  StepWork w;
  w.algorithm = algorithm;
  w.hyper.lr = hyper_[0];
  w.hyper.alpha = hyper_[1];
  w.hyper.eps = hyper_[2];
  w.hyper.weight_decay = hyper_[3];
  w.hyper.momentum = hyper_[4];
  w.hyper.centered = hyper_[5] != 0;
  w.hyper.maximize = hyper_[6] != 0;
  w.hyper.lerp_grad_avg = hyper_[7] != 0;
  w.adagrad.eps = hyper_[2];
  w.adagrad.weight_decay = hyper_[3];
  w.adagrad.maximize = hyper_[6] != 0;
  w.slot_scalars = slot_scalars_;
  if (algorithm == Algorithm::kAdagrad && slot_scalars_ == nullptr) {
    throw Napi::Error::New(env, "simd-optim internal error: adagradStep needs slotScalars");
  }
  const double threads = hyper_[8];
  w.threads = threads >= 1 && threads <= 1024 ? static_cast<size_t>(threads) : default_threads();
  w.kernels = &active_kernels();
  w.active = &active_;
  const bool rmsprop = algorithm == Algorithm::kRmsprop;
  const bool needs[kRoleCount] = {true, true, true, rmsprop && w.hyper.momentum > 0,
                                  rmsprop && w.hyper.centered};
  const int roles = (needs[kMomentumBuffer] ? 1 : 0) | (needs[kGradAvg] ? 2 : 0) | (rmsprop ? 0 : 4);
  if (roles == checked_roles_) {
    w.total = checked_total_;
    w.parts = std::max<size_t>(1, std::min(w.threads, w.total / kMinElementsPerThread));
    return w;
  }
  checked_roles_ = -1;
  active_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s[kGrad].ref.IsEmpty()) continue;  // no grad: skipped, as in PyTorch
    for (int r = 0; r < kRoleCount; ++r) {
      if (!needs[r]) continue;
      const BoundArray& a = s[r];
      if (a.ref.IsEmpty() || a.length != s[kParam].length || a.dtype != s[kParam].dtype) {
        throw Napi::Error::New(env, "simd-optim internal error: slot " + std::to_string(i) + " " +
                                        role_name(algorithm, r) + " is unbound or does not match its param");
      }
      if (r != kGrad && overlaps(a, s[kGrad])) {
        throw Napi::Error::New(env, "simd-optim: the grad of param slot " + std::to_string(i) +
                                        " shares memory with its " + role_name(algorithm, r));
      }
    }
    ActiveSlot a{i, s[kParam].length, s[kParam].dtype, {}};
    for (int r = 0; r < kRoleCount; ++r) a.data[r] = needs[r] ? s[r].data : nullptr;
    active_.push_back(a);
    w.total += s[kParam].length;
  }
  checked_roles_ = roles;
  checked_total_ = w.total;
  w.parts = std::max<size_t>(1, std::min(w.threads, w.total / kMinElementsPerThread));
  return w;
}

// rmspropStep() / adagradStep(): one step over every slot whose grad is
// bound. All slots are checked before any is written, so a bad slot changes
// nothing.
Napi::Value ParamGroup::RmspropStep(const Napi::CallbackInfo& info) {
  run_step(prepare(info.Env(), Algorithm::kRmsprop));
  return info.Env().Undefined();
}

Napi::Value ParamGroup::AdagradStep(const Napi::CallbackInfo& info) {
  run_step(prepare(info.Env(), Algorithm::kAdagrad));
  return info.Env().Undefined();
}

// gradsFinite(): whether every bound grad is free of NaN and ±Inf (for
// skipNonFinite: a step is skipped whole when one is not).
Napi::Value ParamGroup::GradsFinite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  throw_if_busy(env);
  const KernelTable& k = active_kernels();
  for (const Slot& s : slots_) {
    const BoundArray& g = s[kGrad];
    if (g.ref.IsEmpty()) continue;
    const bool finite = g.dtype == DType::kFloat32 ? k.all_finite_f32(g.length, static_cast<const float*>(g.data))
                                                   : k.all_finite_f64(g.length, static_cast<const double*>(g.data));
    if (!finite) return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value ParamGroup::RmspropStepAsync(const Napi::CallbackInfo& info) {
  return StepAsync(info, Algorithm::kRmsprop);
}

Napi::Value ParamGroup::AdagradStepAsync(const Napi::CallbackInfo& info) {
  return StepAsync(info, Algorithm::kAdagrad);
}

// The same step on the libuv thread pool; returns a Promise. The group
// refuses bind() and steps until it settles.
Napi::Value ParamGroup::StepAsync(const Napi::CallbackInfo& info, Algorithm algorithm) {
  Napi::Env env = info.Env();
  const StepWork work = prepare(env, algorithm);
  auto* worker = new StepAsyncWorker(env, this, info.This().As<Napi::Object>(), work);
  Napi::Promise promise = worker->promise();
  busy_ = true;
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

}  // namespace simd_optim
