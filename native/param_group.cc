#include "param_group.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>

#include "dispatch.h"
#include "step_split.h"
#include "thread_pool.h"

namespace simd_optim {
namespace {

constexpr size_t kHyperLength = 9;
// Below this many elements per thread, waking threads costs more than it saves.
constexpr size_t kMinElementsPerThread = size_t{1} << 16;

const char* role_name(Algorithm algorithm, int role) {
  static const char* const rmsprop[kRoleCount] = {"param", "grad", "square_avg", "momentum_buffer",
                                                  "grad_avg"};
  static const char* const adagrad[kRoleCount] = {"param", "grad", "sum", "(unused)", "(unused)"};
  return (algorithm == Algorithm::kAdagrad ? adagrad : rmsprop)[role];
}

MemoryRange range_of(const BoundArray& a, size_t slot, int role) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(a.data);
  const size_t bytes = a.length * (a.dtype == DType::kFloat32 ? sizeof(float) : sizeof(double));
  return {begin, a.data == nullptr ? begin : begin + bytes, slot, role};
}

// `b` shares memory with `a`, which a step writes.
Napi::Error shared_memory_error(Napi::Env env, Algorithm algorithm, const MemoryRange& a, const MemoryRange& b) {
  return Napi::Error::New(env, std::string("simd-optim: the ") + role_name(algorithm, b.role) + " of param slot " +
                                   std::to_string(b.slot) + " shares memory with the " + role_name(algorithm, a.role) +
                                   " of param slot " + std::to_string(a.slot) +
                                   ", which a step writes (the result would depend on the order of the writes)");
}

// A slot or role given to bind(): a whole number below `count`, else -1.
int64_t index_below(const Napi::Value& value, size_t count) {
  const double x = value.As<Napi::Number>().DoubleValue();
  return x >= 0 && x < static_cast<double>(count) && x == std::floor(x) ? static_cast<int64_t>(x) : -1;
}

// A number as JS prints it, for messages (NaN, Infinity, 0.5).
std::string number_text(const Napi::Value& value) {
  const double x = value.As<Napi::Number>().DoubleValue();
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "Infinity" : "-Infinity";
  std::ostringstream text;
  text << x;
  return text.str();
}

size_t default_threads() {
  static const size_t threads = [] {
    const char* env = std::getenv("SIMD_OPTIM_THREADS");
    const long n = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
    return n > 0 ? static_cast<size_t>(n) : ThreadPool::hardware_threads();
  }();
  return threads;
}

void rmsprop(const KernelTable& k, const RmspropHyper& h, const RmspropSlice<float>* s, size_t count) {
  k.rmsprop_f32(RmspropConsts<float>(h), s, count);
}
void rmsprop(const KernelTable& k, const RmspropHyper& h, const RmspropSlice<double>* s, size_t count) {
  k.rmsprop_f64(RmspropConsts<double>(h), s, count);
}
void adagrad(const KernelTable& k, const AdagradHyper& h, const RmspropSlice<float>& s) {
  k.adagrad_f32(AdagradConsts<float>(h), s.n, s.p, s.g, s.v);
}
void adagrad(const KernelTable& k, const AdagradHyper& h, const RmspropSlice<double>& s) {
  k.adagrad_f64(AdagradConsts<double>(h), s.n, s.p, s.g, s.v);
}

// Adagrad over `piece` of slice `slice`, at that slot's learning rate.
template <typename T>
void adagrad_slice(const StepWork& w, const SliceList<T>& list, size_t slice, const RmspropSlice<T>& piece) {
  AdagradHyper h = w.adagrad;
  h.clr = w.slot_scalars[list.slots[slice]];
  adagrad(*w.kernels, h, piece);
}

template <typename T>
T* advance(T* p, size_t by) {
  return p == nullptr ? nullptr : p + by;
}

// Steps slices [first, first + count) of the list whole (count > 0).
template <typename T>
void step_whole(const StepWork& w, const SliceList<T>& list, size_t first, size_t count) {
  if (w.algorithm == Algorithm::kRmsprop) return rmsprop(*w.kernels, w.hyper, &list.slices[first], count);
  for (size_t s = first; s < first + count; ++s) adagrad_slice(w, list, s, list.slices[s]);
}

// Steps elements [begin, end) of one slice (begin < end).
template <typename T>
void step_piece(const StepWork& w, const SliceList<T>& list, size_t slice, size_t begin, size_t end) {
  const RmspropSlice<T>& s = list.slices[slice];
  const RmspropSlice<T> piece{s.p + begin, s.g + begin, s.v + begin, advance(s.buf, begin), advance(s.gavg, begin),
                              end - begin};
  if (w.algorithm == Algorithm::kRmsprop) return rmsprop(*w.kernels, w.hyper, &piece, 1);
  adagrad_slice(w, list, slice, piece);
}

// Steps elements [lo, hi) of a list (split_range in step_split.h).
template <typename T>
void step_range(const StepWork& w, const SliceList<T>& list, size_t lo, size_t hi) {
  split_range(
      list.starts, list.total, lo, hi,
      [&](size_t slice, size_t begin, size_t end) { step_piece(w, list, slice, begin, end); },
      [&](size_t first, size_t count) { step_whole(w, list, first, count); });
}

void run_part(void* context, size_t part) {
  const StepWork& w = *static_cast<const StepWork*>(context);
  const size_t lo = part_begin(w.total, part, w.parts);
  const size_t hi = part_begin(w.total, part + 1, w.parts);
  const size_t f32_total = w.f32->total;
  step_range(w, *w.f32, std::min(lo, f32_total), std::min(hi, f32_total));
  step_range(w, *w.f64, std::max(lo, f32_total) - f32_total, std::max(hi, f32_total) - f32_total);
}

template <typename T>
void add_slice(SliceList<T>& list, void* const (&data)[kRoleCount], size_t n, size_t slot) {
  list.add({static_cast<T*>(data[kParam]), static_cast<const T*>(data[kGrad]), static_cast<T*>(data[kSquareAvg]),
            static_cast<T*>(data[kMomentumBuffer]), static_cast<T*>(data[kGradAvg]), n},
           slot);
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
                      InstanceMethod<&ParamGroup::BindMany>("bindMany", kMethod),
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
  const int64_t slot = index_below(info[0], slots_.size());
  const int64_t role = index_below(info[1], kRoleCount);
  if (slot < 0 || role < 0) {
    throw Napi::RangeError::New(env, "bind: slot " + number_text(info[0]) + " or role " + number_text(info[1]) +
                                         " out of range (slots: " + std::to_string(slots_.size()) + ", roles: 5)");
  }
  bind_one(env, slot, role, info[2]);
  return env.Undefined();
}

// bindMany(where: Uint32Array, arrays: (TypedArray | null)[]): where[k] is
// slot * 8 + role of arrays[k]. One call for every array a step rebinds.
Napi::Value ParamGroup::BindMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  throw_if_busy(env);
  const char* usage = "bindMany(where: Uint32Array, arrays: (TypedArray | null)[])";
  if (info.Length() != 2 || !info[0].IsTypedArray() || !info[1].IsArray()) throw Napi::TypeError::New(env, usage);
  Napi::TypedArray where = info[0].As<Napi::TypedArray>();
  Napi::Array arrays = info[1].As<Napi::Array>();
  if (where.TypedArrayType() != napi_uint32_array || where.ElementLength() > arrays.Length()) {
    throw Napi::TypeError::New(env, usage);
  }
  Napi::Uint32Array places = info[0].As<Napi::Uint32Array>();
  for (size_t k = 0; k < places.ElementLength(); ++k) {
    const uint32_t place = places[k];
    napi_value array = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_get_element(env, arrays, static_cast<uint32_t>(k), &array), env.Undefined());
    bind_one(env, place >> 3, place & 7, Napi::Value(env, array));
  }
  return env.Undefined();
}

void ParamGroup::bind_one(Napi::Env env, int64_t slot, int64_t role, const Napi::Value& value) {
  if (slot < 0 || static_cast<size_t>(slot) >= slots_.size() || role < 0 || role >= kRoleCount) {
    throw Napi::RangeError::New(env, "bind: slot " + std::to_string(slot) + " or role " +
                                         std::to_string(role) + " out of range");
  }
  BoundArray& bound = slots_[static_cast<size_t>(slot)][static_cast<size_t>(role)];
  checked_roles_ = -1;
  napi_valuetype kind = napi_undefined;
  NAPI_THROW_IF_FAILED_VOID(env, napi_typeof(env, value, &kind));
  // What a step writes changes with any array but a grad, and with a grad coming or going.
  const bool unbinding = kind == napi_null || kind == napi_undefined;
  if (role != kGrad || bound.ref.IsEmpty() != unbinding) written_stale_ = true;
  if (unbinding) {
    bound = BoundArray{};
    return;
  }
  // One info call tells a typed array (else napi_invalid_arg) and gives its
  // type, length and data (already past the byte offset).
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer = nullptr;
  const napi_status status = napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, nullptr);
  if (status != napi_invalid_arg) NAPI_THROW_IF_FAILED_VOID(env, status);
  if (status == napi_invalid_arg || (type != napi_float32_array && type != napi_float64_array)) {
    throw Napi::TypeError::New(env, "bind: role " + std::to_string(role) +
                                        " must be a Float32Array or Float64Array");
  }
  // Another thread may write a SharedArrayBuffer's memory while the step reads and writes it.
  bool plain_buffer = false;
  NAPI_THROW_IF_FAILED_VOID(env, napi_is_arraybuffer(env, buffer, &plain_buffer));
  if (!plain_buffer) {
    throw Napi::TypeError::New(env, "bind: role " + std::to_string(role) +
                                        " must be backed by an ArrayBuffer, not a SharedArrayBuffer");
  }
  BoundArray next;
  next.dtype = type == napi_float32_array ? DType::kFloat32 : DType::kFloat64;
  next.data = data;
  next.length = length;
  next.ref = Napi::Persistent(value.As<Napi::TypedArray>());
  bound = std::move(next);
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
  // An empty Float64Array may have no data pointer; an empty group reads none.
  if (algorithm == Algorithm::kAdagrad && slot_scalars_ == nullptr && !slots_.empty()) {
    throw Napi::Error::New(env, "simd-optim internal error: adagradStep needs slotScalars");
  }
  const double threads = hyper_[8];
  w.threads = threads >= 1 && threads <= 1024 ? static_cast<size_t>(threads) : default_threads();
  w.kernels = &active_kernels();
  w.f32 = &f32_;
  w.f64 = &f64_;
  const bool rmsprop = algorithm == Algorithm::kRmsprop;
  const bool needs[kRoleCount] = {true, true, true, rmsprop && w.hyper.momentum > 0,
                                  rmsprop && w.hyper.centered};
  const int roles = (needs[kMomentumBuffer] ? 1 : 0) | (needs[kGradAvg] ? 2 : 0) | (rmsprop ? 0 : 4);
  if (roles != checked_roles_) check_slots(env, algorithm, needs, roles);
  w.total = f32_.total + f64_.total;
  w.parts = std::max<size_t>(1, std::min(w.threads, w.total / kMinElementsPerThread));
  return w;
}

// Checks every slot with a grad and lists them for the kernels; throws on the
// first bad one, leaving the lists to be rebuilt by the next step.
void ParamGroup::check_slots(Napi::Env env, Algorithm algorithm, const bool (&needs)[kRoleCount], int roles) {
  checked_roles_ = -1;
  f32_.clear();
  f64_.clear();
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
    }
    void* data[kRoleCount];
    for (int r = 0; r < kRoleCount; ++r) data[r] = needs[r] ? s[r].data : nullptr;
    if (s[kParam].dtype == DType::kFloat32) add_slice(f32_, data, s[kParam].length, i);
    else add_slice(f64_, data, s[kParam].length, i);
  }
  // Threads write their parts at once: an array written through two slots
  // (or read through one while written through another) would make the
  // result depend on the thread count, and is a data race.
  if (written_stale_ || written_roles_ != roles) check_written(env, algorithm, needs, roles);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i][kGrad].ref.IsEmpty()) check_grad_reads(env, algorithm, i);
  }
  checked_roles_ = roles;
}

// Lists what the stepped slots write, and throws if two of those arrays overlap.
void ParamGroup::check_written(Napi::Env env, Algorithm algorithm, const bool (&needs)[kRoleCount], int roles) {
  written_stale_ = true;
  written_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s[kGrad].ref.IsEmpty()) continue;  // not stepped, not written
    for (int r = 0; r < kRoleCount; ++r) {
      if (r == kGrad || !needs[r]) continue;
      const MemoryRange m = range_of(s[r], i, r);
      if (m.begin != m.end) written_.push_back(m);
    }
  }
  std::sort(written_.begin(), written_.end(),
            [](const MemoryRange& a, const MemoryRange& b) { return a.begin < b.begin; });
  // Sorted and disjoint so far, so the one before ends last.
  for (size_t k = 1; k < written_.size(); ++k) {
    if (written_[k].begin < written_[k - 1].end) throw shared_memory_error(env, algorithm, written_[k - 1], written_[k]);
  }
  written_stale_ = false;
  written_roles_ = roles;
}

// Throws if a slot's grad overlaps anything a step writes.
void ParamGroup::check_grad_reads(Napi::Env env, Algorithm algorithm, size_t slot) const {
  const MemoryRange g = range_of(slots_[slot][kGrad], slot, kGrad);
  if (g.begin == g.end) return;
  // The last written range that begins before the grad ends is the only one that can reach into it.
  const auto after = std::lower_bound(written_.begin(), written_.end(), g.end,
                                      [](const MemoryRange& m, uintptr_t end) { return m.begin < end; });
  if (after != written_.begin() && std::prev(after)->end > g.begin) {
    throw shared_memory_error(env, algorithm, *std::prev(after), g);
  }
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
