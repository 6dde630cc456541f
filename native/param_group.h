// A param group as the kernels see it: for each parameter slot, the raw
// pointers of its data, grad and state arrays. JS binds an array once and
// rebinds only when it changes, so a step is one call with no per-tensor
// Node-API work ("one native call per group, not per tensor").
#pragma once

#include <napi.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/algorithms.h"
#include "kernels/kernels.h"
#include "state_buffer.h"

namespace simd_optim {

// What a bound array is to its parameter: its data, its grad, then the
// algorithm's state arrays in its descriptor's order (algorithms.h).
enum Role : int { kParam = 0, kGrad = 1, kFirstState = 2, kRoleCount = kFirstState + kMaxStates };

struct BoundArray {
  void* data = nullptr;
  size_t length = 0;
  DType dtype = DType::kFloat32;
  Napi::Reference<Napi::TypedArray> ref;  // keeps the memory alive while bound
};

using Slot = std::array<BoundArray, kRoleCount>;

// The step's tensors of one dtype, as the kernels take them, and where each
// begins in the list's element order. Built by the slot check and reused by
// every step until something is rebound, so that a step does no work per
// tensor before the kernels.
template <typename T>
struct SliceList {
  std::vector<Slice<T>> slices;
  std::vector<size_t> starts;  // elements of the slices before each one
  size_t total = 0;

  void clear() {
    slices.clear();
    starts.clear();
    total = 0;
  }
  void add(const Slice<T>& slice) {
    slices.push_back(slice);
    starts.push_back(total);
    total += slice.n;
  }
};

// The bytes one bound array covers, for the check that what a step writes
// shares no memory with any other array of the group.
struct MemoryRange {
  uintptr_t begin = 0;
  uintptr_t end = 0;
  size_t slot = 0;
  int role = 0;
};

// Everything one step needs, copied from JS state on the JS thread, so that
// it can run on other threads.
struct StepWork {
  Algorithm algorithm = Algorithm::kRmsprop;
  std::array<double, kMaxHyper> hyper{};
  const KernelTable* kernels = nullptr;
  // The float32 tensors, then the float64 ones: the order in which the
  // elements are split between threads.
  const SliceList<float>* f32 = nullptr;
  const SliceList<double>* f64 = nullptr;
  size_t total = 0;  // elements of both lists
  size_t parts = 1;
};

// Runs a prepared step, split over the thread pool when it is large.
void run_step(const StepWork& work);

class ParamGroup : public Napi::ObjectWrap<ParamGroup> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ParamGroup(const Napi::CallbackInfo& info);

  // Lets an async step mark the group free again.
  void set_busy(bool busy) { busy_ = busy; }

 private:
  Napi::Value Bind(const Napi::CallbackInfo& info);
  Napi::Value BindMany(const Napi::CallbackInfo& info);
  // Binds one array (or none, for null) to a slot's role; throws on a bad one.
  void bind_one(Napi::Env env, int64_t slot, int64_t role, const Napi::Value& value);
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value StepAsync(const Napi::CallbackInfo& info);
  Napi::Value GradsFinite(const Napi::CallbackInfo& info);

  // Checks every active slot and the arrays the hyperparameters call for;
  // throws before anything is written. Returns the step to run.
  StepWork prepare(const Napi::CallbackInfo& info);
  void check_slots(Napi::Env env, unsigned states);
  void throw_if_busy(Napi::Env env) const;
  const char* role_name(int role) const;

  Algorithm algorithm_;
  const AlgorithmInfo* info_;
  int roles_;  // bound roles per slot: param, grad and the algorithm's states
  std::vector<Slot> slots_;
  // The hyperparameter array that JS fills before each step (the layout of
  // the algorithm's header), and the per-slot scalars (AlgorithmInfo::
  // scalar_count per slot, e.g. Adagrad's learning rate, which depends on
  // each tensor's step).
  Napi::Reference<Napi::Float64Array> hyper_ref_;
  const double* hyper_ = nullptr;
  Napi::Reference<Napi::Float64Array> slot_scalars_ref_;
  const double* slot_scalars_ = nullptr;
  bool busy_ = false;  // an async step holds the bound arrays
  // The slot check of prepare() depends only on the bindings and on which
  // state arrays the step uses; while neither changes, its result is reused
  // (with 1,000 small tensors the check costs as much as their arithmetic).
  // -1: check again (set by every bind).
  int64_t checked_states_ = -1;
  SliceList<float> f32_;  // what that check found to step
  SliceList<double> f64_;
  // What the stepped slots write (params and state), sorted and disjoint, as
  // of the last slot check: a group whose grads alone are rebound at every
  // step checks each grad against it, without sorting again.
  std::vector<MemoryRange> written_;
  bool written_stale_ = true;        // set by a bind that changes what a step writes
  int64_t written_states_ = -1;      // the states written_ was built for (as checked_states_)
  void check_written(Napi::Env env, unsigned states);
  void check_grad_reads(Napi::Env env, size_t slot) const;
};

// Makes environment teardown wait for async steps still writing to buffers
// that the teardown would free. Call once per module instance.
void register_async_cleanup(Napi::Env env);

}  // namespace simd_optim
