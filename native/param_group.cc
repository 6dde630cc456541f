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

// bindMany's places: slot * kPlaceStride + role (binding.d.ts).
constexpr uint32_t kPlaceStride = 8;
static_assert(kRoleCount <= static_cast<int>(kPlaceStride), "a place holds a role in its low bits");

MemoryRange range_of(const BoundArray& a, size_t slot, int role) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(a.data);
  const size_t bytes = a.length * (a.dtype == DType::kFloat32 ? sizeof(float) : sizeof(double));
  return {begin, a.data == nullptr ? begin : begin + bytes, slot, role};
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

template <typename T>
T* advance(T* p, size_t by) {
  return p == nullptr ? nullptr : p + by;
}

// Steps slices [first, first + count) of the list whole (count > 0).
template <typename T>
void step_whole(const StepWork& w, const SliceList<T>& list, size_t first, size_t count) {
  step_of<T>(*w.kernels, w.algorithm)(w.hyper.data(), &list.slices[first], count);
}

// Steps elements [begin, end) of one slice (begin < end).
template <typename T>
void step_piece(const StepWork& w, const SliceList<T>& list, size_t slice, size_t begin, size_t end) {
  const Slice<T>& s = list.slices[slice];
  Slice<T> piece{s.p + begin, s.g + begin, {}, s.scalars, end - begin};
  for (int k = 0; k < kMaxStates; ++k) piece.state[k] = advance(s.state[k], begin);
  step_of<T>(*w.kernels, w.algorithm)(w.hyper.data(), &piece, 1);
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

// A slot's arrays as a Slice for the kernels: the states the step uses, and
// its scalars.
template <typename T>
Slice<T> slice_of(const Slot& s, unsigned states, const double* scalars) {
  Slice<T> slice{static_cast<T*>(s[kParam].data), static_cast<const T*>(s[kGrad].data), {}, scalars,
                 s[kParam].length};
  for (int k = 0; k < kMaxStates; ++k) {
    slice.state[k] = (states >> k) & 1u ? static_cast<T*>(s[kFirstState + k].data) : nullptr;
  }
  return slice;
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
                      InstanceMethod<&ParamGroup::Step>("step", kMethod),
                      InstanceMethod<&ParamGroup::StepAsync>("stepAsync", kMethod),
                      InstanceMethod<&ParamGroup::GradsFinite>("gradsFinite", kMethod)});
}

// new ParamGroup(algorithm, slotCount, hyper: Float64Array, slotScalars: Float64Array)
ParamGroup::ParamGroup(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ParamGroup>(info) {
  Napi::Env env = info.Env();
  const char* usage = "ParamGroup(algorithm: number, slotCount: number, hyper: Float64Array, slotScalars: Float64Array)";
  if (info.Length() != 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsTypedArray() ||
      !info[3].IsTypedArray()) {
    throw Napi::TypeError::New(env, usage);
  }
  const int64_t algorithm = index_below(info[0], kAlgorithmCount);
  if (algorithm < 0) throw Napi::RangeError::New(env, "ParamGroup: unknown algorithm " + number_text(info[0]));
  algorithm_ = static_cast<Algorithm>(algorithm);
  info_ = &algorithm_info(algorithm_);
  roles_ = kFirstState + info_->state_count;
  const double count = info[1].As<Napi::Number>().DoubleValue();
  if (!(count >= 0 && count <= 1e9) || count != static_cast<double>(static_cast<size_t>(count))) {
    throw Napi::RangeError::New(env, "ParamGroup: slotCount must be a non-negative integer");
  }
  slots_.resize(static_cast<size_t>(count));
  Napi::TypedArray hyper = info[2].As<Napi::TypedArray>();
  if (hyper.TypedArrayType() != napi_float64_array || hyper.ElementLength() != static_cast<size_t>(info_->hyper_count)) {
    throw Napi::TypeError::New(env, std::string("ParamGroup: hyper must be a Float64Array of length ") +
                                        std::to_string(info_->hyper_count) + " for " + info_->name);
  }
  hyper_ = hyper.As<Napi::Float64Array>().Data();
  hyper_ref_ = Napi::Persistent(hyper.As<Napi::Float64Array>());
  Napi::TypedArray scalars = info[3].As<Napi::TypedArray>();
  if (scalars.TypedArrayType() != napi_float64_array ||
      scalars.ElementLength() != slots_.size() * static_cast<size_t>(info_->scalar_count)) {
    throw Napi::TypeError::New(env, "ParamGroup: slotScalars must be a Float64Array of length slotCount * " +
                                        std::to_string(info_->scalar_count) + " for " + info_->name);
  }
  slot_scalars_ = scalars.As<Napi::Float64Array>().Data();
  slot_scalars_ref_ = Napi::Persistent(scalars.As<Napi::Float64Array>());
}

const char* ParamGroup::role_name(int role) const {
  if (role == kParam) return "param";
  if (role == kGrad) return "grad";
  return info_->state_names[role - kFirstState];
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
  const int64_t role = index_below(info[1], static_cast<size_t>(roles_));
  if (slot < 0 || role < 0) {
    throw Napi::RangeError::New(env, "bind: slot " + number_text(info[0]) + " or role " + number_text(info[1]) +
                                         " out of range (slots: " + std::to_string(slots_.size()) +
                                         ", roles: " + std::to_string(roles_) + ")");
  }
  bind_one(env, slot, role, info[2]);
  return env.Undefined();
}

// bindMany(places: Uint32Array, arrays: (TypedArray | null)[]): places[k] is
// slot * 8 + role of arrays[k]. One call for every array a step rebinds.
Napi::Value ParamGroup::BindMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  throw_if_busy(env);
  const char* usage = "bindMany(places: Uint32Array, arrays: (TypedArray | null)[])";
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
    bind_one(env, place / kPlaceStride, place % kPlaceStride, Napi::Value(env, array));
  }
  return env.Undefined();
}

void ParamGroup::bind_one(Napi::Env env, int64_t slot, int64_t role, const Napi::Value& value) {
  if (slot < 0 || static_cast<size_t>(slot) >= slots_.size() || role < 0 || role >= roles_) {
    throw Napi::RangeError::New(env, "bind: slot " + std::to_string(slot) + " or role " +
                                         std::to_string(role) + " out of range");
  }
  BoundArray& bound = slots_[static_cast<size_t>(slot)][static_cast<size_t>(role)];
  checked_states_ = -1;
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

// step(threads) / stepAsync(threads): the thread count, 1 to 1024, or 0 for
// SIMD_OPTIM_THREADS or every core.
StepWork ParamGroup::prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  throw_if_busy(env);
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "step(threads: number)");
  StepWork w;
  w.algorithm = algorithm_;
  std::copy(hyper_, hyper_ + info_->hyper_count, w.hyper.begin());
  const double threads = info[0].As<Napi::Number>().DoubleValue();
  w.kernels = &active_kernels();
  w.f32 = &f32_;
  w.f64 = &f64_;
  const unsigned states = info_->used_states(w.hyper.data());
  if (static_cast<int64_t>(states) != checked_states_) check_slots(env, states);
  w.total = f32_.total + f64_.total;
  w.parts = parts_for(threads, w.total);
  return w;
}

// `b` shares memory with `a`, which a step writes.
static Napi::Error shared_memory_error(Napi::Env env, const char* a_name, const MemoryRange& a, const char* b_name,
                                       const MemoryRange& b) {
  return Napi::Error::New(env, std::string("simd-optim: the ") + b_name + " of param slot " + std::to_string(b.slot) +
                                   " shares memory with the " + a_name + " of param slot " + std::to_string(a.slot) +
                                   ", which a step writes (the result would depend on the order of the writes)");
}

// Checks every slot with a grad and lists them for the kernels; throws on the
// first bad one, leaving the lists to be rebuilt by the next step.
void ParamGroup::check_slots(Napi::Env env, unsigned states) {
  checked_states_ = -1;
  f32_.clear();
  f64_.clear();
  const size_t scalar_count = static_cast<size_t>(info_->scalar_count);
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s[kGrad].ref.IsEmpty()) continue;  // no grad: skipped, as in PyTorch
    for (int r = 0; r < roles_; ++r) {
      if (r >= kFirstState && ((states >> (r - kFirstState)) & 1u) == 0) continue;
      const BoundArray& a = s[r];
      if (a.ref.IsEmpty() || a.length != s[kParam].length || a.dtype != s[kParam].dtype) {
        throw Napi::Error::New(env, "simd-optim internal error: slot " + std::to_string(i) + " " + role_name(r) +
                                        " is unbound or does not match its param");
      }
    }
    const double* scalars = scalar_count > 0 ? slot_scalars_ + i * scalar_count : nullptr;
    if (s[kParam].dtype == DType::kFloat32) f32_.add(slice_of<float>(s, states, scalars));
    else f64_.add(slice_of<double>(s, states, scalars));
  }
  // Threads write their parts at once: an array written through two slots
  // (or read through one while written through another) would make the
  // result depend on the thread count, and is a data race.
  if (written_stale_ || written_states_ != static_cast<int64_t>(states)) check_written(env, states);
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i][kGrad].ref.IsEmpty()) check_grad_reads(env, i);
  }
  checked_states_ = states;
}

// Lists what the stepped slots write, and throws if two of those arrays overlap.
void ParamGroup::check_written(Napi::Env env, unsigned states) {
  written_stale_ = true;
  written_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s[kGrad].ref.IsEmpty()) continue;  // not stepped, not written
    for (int r = 0; r < roles_; ++r) {
      if (r == kGrad || (r >= kFirstState && ((states >> (r - kFirstState)) & 1u) == 0)) continue;
      const MemoryRange m = range_of(s[r], i, r);
      if (m.begin != m.end) written_.push_back(m);
    }
  }
  std::sort(written_.begin(), written_.end(),
            [](const MemoryRange& a, const MemoryRange& b) { return a.begin < b.begin; });
  // Sorted and disjoint so far, so the one before ends last.
  for (size_t k = 1; k < written_.size(); ++k) {
    if (written_[k].begin < written_[k - 1].end) {
      const MemoryRange& a = written_[k - 1];
      const MemoryRange& b = written_[k];
      throw shared_memory_error(env, role_name(a.role), a, role_name(b.role), b);
    }
  }
  written_stale_ = false;
  written_states_ = states;
}

// Throws if a slot's grad overlaps anything a step writes.
void ParamGroup::check_grad_reads(Napi::Env env, size_t slot) const {
  const MemoryRange g = range_of(slots_[slot][kGrad], slot, kGrad);
  if (g.begin == g.end) return;
  // The last written range that begins before the grad ends is the only one that can reach into it.
  const auto after = std::lower_bound(written_.begin(), written_.end(), g.end,
                                      [](const MemoryRange& m, uintptr_t end) { return m.begin < end; });
  if (after != written_.begin() && std::prev(after)->end > g.begin) {
    const MemoryRange& a = *std::prev(after);
    throw shared_memory_error(env, role_name(a.role), a, role_name(kGrad), g);
  }
}

// step(threads): one step over every slot whose grad is bound. All slots are
// checked before any is written, so a bad slot changes nothing.
Napi::Value ParamGroup::Step(const Napi::CallbackInfo& info) {
  run_step(prepare(info));
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

// stepAsync(threads): the same step on the libuv thread pool; returns a
// Promise. The group refuses bind() and steps until it settles.
Napi::Value ParamGroup::StepAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const StepWork work = prepare(info);
  auto* worker = new StepAsyncWorker(env, this, info.This().As<Napi::Object>(), work);
  Napi::Promise promise = worker->promise();
  busy_ = true;
  worker->Queue();  // the worker deletes itself when done
  return promise;
}

}  // namespace simd_optim
