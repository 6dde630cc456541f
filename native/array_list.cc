#include "array_list.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dispatch.h"
#include "step_split.h"
#include "thread_pool.h"

namespace simd_optim {
namespace {

struct ListArray {
  void* data = nullptr;
  size_t length = 0;
  bool f32 = true;
  size_t bytes() const { return length * (f32 ? sizeof(float) : sizeof(double)); }
};

// A JS array of Float32Array/Float64Array, checked.
std::vector<ListArray> arrays_of(Napi::Env env, const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of typed arrays");
  const Napi::Array list = value.As<Napi::Array>();
  std::vector<ListArray> out(list.Length());
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const Napi::Value item = list.Get(i);
    if (!item.IsTypedArray()) throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] is not a typed array");
    const Napi::TypedArray array = item.As<Napi::TypedArray>();
    const napi_typedarray_type type = array.TypedArrayType();
    if (type != napi_float32_array && type != napi_float64_array) {
      throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] is not a Float32Array or Float64Array");
    }
    out[i].f32 = type == napi_float32_array;
    out[i].length = array.ElementLength();
    out[i].data = out[i].length == 0 ? nullptr : static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  }
  return out;
}

// Threads write the arrays at once: two that share memory would race. The
// written arrays' spans, sorted by address, once checked disjoint.
std::vector<std::pair<uintptr_t, size_t>> disjoint_spans(Napi::Env env, const std::vector<ListArray>& arrays, const char* what) {
  std::vector<std::pair<uintptr_t, size_t>> spans;
  for (size_t i = 0; i < arrays.size(); ++i) {
    if (arrays[i].length > 0) spans.emplace_back(reinterpret_cast<uintptr_t>(arrays[i].data), i);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t k = 1; k < spans.size(); ++k) {
    const ListArray& prev = arrays[spans[k - 1].second];
    if (spans[k - 1].first + prev.bytes() > spans[k].first) {
      throw Napi::RangeError::New(env, std::string(what) + "[" + std::to_string(spans[k - 1].second) + "] and " + what + "[" +
                                           std::to_string(spans[k].second) + "] share memory");
    }
  }
  return spans;
}

// bs[i] is read while other threads write the as: it may be as[i] itself
// (read before written, element by element), and must not overlap any other.
void check_reads(Napi::Env env, const std::vector<std::pair<uintptr_t, size_t>>& written, const std::vector<ListArray>& as,
                 const std::vector<ListArray>& bs) {
  for (size_t i = 0; i < bs.size(); ++i) {
    if (bs[i].length == 0) continue;
    const uintptr_t begin = reinterpret_cast<uintptr_t>(bs[i].data);
    const uintptr_t end = begin + bs[i].bytes();
    // The last written span that starts before b ends: the only one that can overlap it (they are disjoint).
    auto it = std::lower_bound(written.begin(), written.end(), std::make_pair(end, size_t{0}));
    if (it == written.begin()) continue;
    --it;
    const ListArray& a = as[it->second];
    const bool itself = it->second == i && a.data == bs[i].data;
    if (it->first + a.bytes() > begin && !itself) {
      throw Napi::RangeError::New(env, "mapList: bs[" + std::to_string(i) + "] overlaps as[" + std::to_string(it->second) + "]");
    }
  }
}

struct NormWork {
  const KernelTable* kernels;
  NormKind kind;
  double p;
  const std::vector<ListArray>* arrays;
  std::vector<std::pair<size_t, size_t>> blocks;  // (array, first element)
  std::vector<double> values;
  size_t parts;
};

void norm_part(void* context, size_t part) {
  auto& w = *static_cast<NormWork*>(context);
  const size_t lo = part_begin(w.blocks.size(), part, w.parts);
  const size_t hi = part_begin(w.blocks.size(), part + 1, w.parts);
  for (size_t b = lo; b < hi; ++b) {
    const ListArray& a = (*w.arrays)[w.blocks[b].first];
    const size_t begin = w.blocks[b].second;
    const size_t n = std::min(kNormBlock, a.length - begin);
    w.values[b] = a.f32 ? w.kernels->norm_block_f32(w.kind, static_cast<const float*>(a.data) + begin, n, w.p)
                        : w.kernels->norm_block_f64(w.kind, static_cast<const double*>(a.data) + begin, n, w.p);
  }
}

struct MapWork {
  const KernelTable* kernels;
  ElementwiseOp op;
  const std::vector<ListArray>* as;
  const std::vector<ListArray>* bs;
  double s1, s2;
  std::vector<size_t> starts;
  size_t total, parts;
};

void map_part(void* context, size_t part) {
  auto& w = *static_cast<MapWork*>(context);
  const auto piece = [&](size_t i, size_t begin, size_t end) {
    const ListArray& a = (*w.as)[i];
    const ListArray* b = w.bs != nullptr ? &(*w.bs)[i] : nullptr;
    if (a.f32) {
      w.kernels->elementwise_f32(w.op, end - begin, static_cast<float*>(a.data) + begin,
                                 b != nullptr ? static_cast<const float*>(b->data) + begin : nullptr, nullptr, w.s1, w.s2);
    } else {
      w.kernels->elementwise_f64(w.op, end - begin, static_cast<double*>(a.data) + begin,
                                 b != nullptr ? static_cast<const double*>(b->data) + begin : nullptr, nullptr, w.s1, w.s2);
    }
  };
  const auto whole = [&](size_t first, size_t count) {
    for (size_t i = first; i < first + count; ++i) piece(i, 0, (*w.as)[i].length);
  };
  split_range(w.starts, w.total, part_begin(w.total, part, w.parts), part_begin(w.total, part + 1, w.parts), piece, whole);
}

}  // namespace

Napi::Value ListNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 4 || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(env, "listNorm(arrays, kind, p, threads)");
  }
  const int kind = info[1].As<Napi::Number>().Int32Value();
  if (kind < 0 || kind > static_cast<int>(NormKind::kLp)) throw Napi::RangeError::New(env, "listNorm: unknown kind " + std::to_string(kind));
  const std::vector<ListArray> arrays = arrays_of(env, info[0], "arrays");
  NormWork w;
  w.kernels = &active_kernels();
  w.kind = static_cast<NormKind>(kind);
  w.p = info[2].As<Napi::Number>().DoubleValue();
  w.arrays = &arrays;
  size_t total = 0;
  for (size_t i = 0; i < arrays.size(); ++i) {
    for (size_t begin = 0; begin < arrays[i].length; begin += kNormBlock) w.blocks.emplace_back(i, begin);
    total += arrays[i].length;
  }
  w.values.assign(w.blocks.size(), 0.0);
  // At most one part per block, so that no thread is woken for nothing.
  w.parts = std::min(parts_for(info[3].As<Napi::Number>().DoubleValue(), total), std::max<size_t>(1, w.blocks.size()));
  ThreadPool::instance().run(w.parts, norm_part, &w);
  // The blocks in order: the result does not depend on how they were shared out.
  double result = 0.0;
  for (const double v : w.values) {
    if (w.kind == NormKind::kLinf) result = result != result || v != v ? result + v : (v > result ? v : result);
    else result += v;
  }
  return Napi::Number::New(env, result);
}

Napi::Value MapList(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber()) {
    throw Napi::TypeError::New(env, "mapList(op, as, bs, s1, s2, threads)");
  }
  const int op = info[0].As<Napi::Number>().Int32Value();
  if (op < 0 || op >= kElementwiseOpCount) throw Napi::RangeError::New(env, "mapList: unknown op " + std::to_string(op));
  const auto kind = static_cast<ElementwiseOp>(op);
  const bool uses_b = kind == ElementwiseOp::kMul || kind == ElementwiseOp::kAdd || kind == ElementwiseOp::kLerp;
  if (!uses_b && kind != ElementwiseOp::kMulScalar && kind != ElementwiseOp::kClamp) {
    throw Napi::RangeError::New(env, "mapList: op " + std::to_string(op) + " is not a list op");
  }
  const std::vector<ListArray> as = arrays_of(env, info[1], "as");
  std::vector<ListArray> bs;
  if (uses_b) {
    bs = arrays_of(env, info[2], "bs");
    if (bs.size() != as.size()) throw Napi::RangeError::New(env, "mapList: as and bs differ in length");
    for (size_t i = 0; i < as.size(); ++i) {
      if (bs[i].f32 != as[i].f32 || bs[i].length != as[i].length) {
        throw Napi::TypeError::New(env, "mapList: bs[" + std::to_string(i) + "] must match as[" + std::to_string(i) + "] in dtype and length");
      }
    }
  }
  const auto written = disjoint_spans(env, as, "as");
  if (uses_b) check_reads(env, written, as, bs);
  MapWork w;
  w.kernels = &active_kernels();
  w.op = kind;
  w.as = &as;
  w.bs = uses_b ? &bs : nullptr;
  w.s1 = info[3].As<Napi::Number>().DoubleValue();
  w.s2 = info[4].As<Napi::Number>().DoubleValue();
  w.total = 0;
  for (const ListArray& a : as) {
    w.starts.push_back(w.total);
    w.total += a.length;
  }
  w.parts = parts_for(info[5].As<Napi::Number>().DoubleValue(), w.total);
  if (w.total > 0) ThreadPool::instance().run(w.parts, map_part, &w);
  return env.Undefined();
}

}  // namespace simd_optim
