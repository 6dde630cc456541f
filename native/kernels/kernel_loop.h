// The machinery every algorithm's element loop shares, written once over a
// small "Ops" interface that each ISA file implements (scalar, AVX2,
// AVX-512, NEON): walking a tensor in vectors, its ragged end, and the
// elementwise ops and finiteness check. The arithmetic of each algorithm is
// in its own header (rmsprop.h, adagrad.h, ...); only the vector width
// differs between ISAs.
//
// Everything here has internal linkage on purpose: each ISA's translation
// unit is compiled with its own -m flags, and an inline function shared
// between them could be merged by the linker into the AVX version and then
// run on a CPU without AVX (highway's warning). Include this file only from
// kernel .cc files (through the algorithm headers).
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>

#include "kernels.h"

namespace simd_optim {
namespace {  // NOLINT(build/namespaces): per-TU copies are the point

// Ops contract, for element type T and vector type V of W lanes:
//   load(const T*) / store(T*, V)  unaligned
//   load_partial(const T*, n) / store_partial(T*, V, n)  the first n < W lanes
//     only; memory past them is neither read nor written, and load_partial
//     fills the other lanes with 0
//   set1(T), add, sub, mul, div, sqrt, neg (exact sign flip),
//   fma(a, b, c) = a*b + c with one rounding,
//   maximum(a, b): the larger, NaN if either is NaN (torch.maximum).

// The ISA's half-width vectors, if it names them as O::Half (AVX-512: AVX2's),
// with the same arithmetic per lane.
template <class O, class = void>
struct HalfOf {
  using type = O;
  static constexpr bool kHas = false;
};
template <class O>
struct HalfOf<O, std::void_t<typename O::Half>> {
  using type = typename O::Half;
  static constexpr bool kHas = true;
};

// A slice's pointers as separate members, not an array: copied into a local,
// they stay in registers (a local Slice went through the stack, and each
// tensor's start waited on the reloads).
template <typename T>
struct Arrays {
  static_assert(kMaxStates == 3, "one member per state array");
  T* p;
  const T* g;
  T* s0;
  T* s1;
  T* s2;
  explicit Arrays(const Slice<T>& x) : p(x.p), g(x.g), s0(x.state[0]), s1(x.state[1]), s2(x.state[2]) {}
  T* state(int k) const { return k == 0 ? s0 : k == 1 ? s1 : s2; }
};

// One vector of a slice: p, g and the state arrays whose bit is set in
// kStates, loaded whole at element `at` (or the first n lanes), and stored
// back the same way: p and the states (g is only read).
template <class O, unsigned kStates>
struct Vectors {
  using T = typename O::T;
  using V = typename O::V;
  V p = O::set1(T(0)), g = p;
  V s[kMaxStates] = {p, p, p};

  static constexpr bool uses(int k) { return ((kStates >> k) & 1u) != 0; }

  void load(const Arrays<T>& x, std::size_t at) {
    p = O::load(x.p + at);
    g = O::load(x.g + at);
    for (int k = 0; k < kMaxStates; ++k) {
      if (uses(k)) s[k] = O::load(x.state(k) + at);
    }
  }
  void store(const Arrays<T>& x, std::size_t at) const {
    O::store(x.p + at, p);
    for (int k = 0; k < kMaxStates; ++k) {
      if (uses(k)) O::store(x.state(k) + at, s[k]);
    }
  }
  void load_partial(const Arrays<T>& x, std::size_t n) {
    p = O::load_partial(x.p, n);
    g = O::load_partial(x.g, n);
    for (int k = 0; k < kMaxStates; ++k) {
      if (uses(k)) s[k] = O::load_partial(x.state(k), n);
    }
  }
  void store_partial(const Arrays<T>& x, std::size_t n) const {
    O::store_partial(x.p, p, n);
    for (int k = 0; k < kMaxStates; ++k) {
      if (uses(k)) O::store_partial(x.state(k), s[k], n);
    }
  }
};

// Runs an element step over one slice, vector by vector: `step` on
// Vectors<O, kStates>, `step_half` on the ISA's half-width vectors (both the
// same arithmetic). kStates names the state arrays the step uses.
template <class O, unsigned kStates, class Step, class StepHalf>
inline void each_vector(const Slice<typename O::T>& in, const Step& step, const StepHalf& step_half) {
  using T = typename O::T;
  using H = typename HalfOf<O>::type;
  using Full = Vectors<O, kStates>;
  using Half = Vectors<H, kStates>;
  constexpr std::size_t W = O::W;
  // A copy, so that its pointers live in registers: the vector stores may
  // alias anything in memory, and would make the loop reload them.
  const Arrays<T> slice(in);
  const std::size_t n = in.n;
  const std::size_t rest = n % W;
  // A ragged tensor of more than W elements ends with one more vector over its
  // last elements, overlapping the loop's last vector: a half vector when the
  // ISA has them and at most half a vector is left (on Zen 4 a 512-bit square
  // root or divide costs two 256-bit ones), else a full one. Its inputs are
  // read here, before the loop writes any of them, so the overlapped lanes
  // compute what the loop computes from the same inputs, and store the same
  // bits. Masked partial stores would do too, but on Zen 4 they stall the
  // loads of whatever comes next in memory, which many small tensors side by
  // side pay for at every tensor.
  const bool half = HalfOf<O>::kHas && n > W && rest != 0 && rest <= H::W;
  const bool full = n > W && rest != 0 && !half;
  Full full_tail;
  Half half_tail;
  if (full) full_tail.load(slice, n - W);
  if (half) half_tail.load(slice, n - H::W);
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    Full lanes;
    lanes.load(slice, i);
    step(lanes);
    lanes.store(slice, i);
  }
  if (full) {
    step(full_tail);
    full_tail.store(slice, n - W);
  }
  if (half) {
    step_half(half_tail);
    half_tail.store(slice, n - H::W);
  }
  if (full || half || i == n) return;
  // Fewer than W elements: the same vector code on partial loads and stores,
  // so its arithmetic cannot differ from the main loop's. Lanes past the end
  // compute on whatever load_partial fills in and are never stored.
  Full lanes;
  lanes.load_partial(slice, rest);
  step(lanes);
  lanes.store_partial(slice, rest);
}

// Turns runtime flags into one of 2^N instantiations of Fn<kFlags...>, a
// class template whose static `run` is the step: Pick<Fn>::pick(a, b, c)
// returns &Fn<a, b, c>::run.
template <template <bool...> class Fn, bool... kFlags>
struct Pick {
  template <class... Rest>
  static auto pick(bool flag, Rest... rest) {
    return flag ? Pick<Fn, kFlags..., true>::pick(rest...) : Pick<Fn, kFlags..., false>::pick(rest...);
  }
  static auto pick() { return &Fn<kFlags...>::run; }
};

// load_partial/store_partial through a lane buffer, for ISAs without masked
// memory operations.
template <class O>
struct BufferedPartial {
  // Templates, so that O (which derives from this) is complete when they are
  // instantiated.
  template <typename T>
  static auto load_partial(const T* x, std::size_t n) {
    alignas(64) T lanes[O::W] = {};
    std::memcpy(lanes, x, n * sizeof(T));
    return O::load(lanes);
  }
  template <typename T, typename V>
  static void store_partial(T* x, V a, std::size_t n) {
    alignas(64) T lanes[O::W];
    O::store(lanes, a);
    std::memcpy(x, lanes, n * sizeof(T));
  }
};

// a[i] = f(a[i], b[i], c[i]) over n elements; b and c are loaded only when
// used (kB, kC). The tail runs f on partial loads, like the optimizer loops.
template <class O, bool kB, bool kC, class F>
void map_loop(std::size_t n, typename O::T* a, const typename O::T* b, const typename O::T* c, F f) {
  constexpr std::size_t W = O::W;
  using V = typename O::V;
  const V zero = O::set1(typename O::T(0));
  std::size_t i = 0;
  for (; i + W <= n; i += W) {
    O::store(a + i, f(O::load(a + i), kB ? O::load(b + i) : zero, kC ? O::load(c + i) : zero));
  }
  if (i == n) return;
  const std::size_t rest = n - i;
  const V r = f(O::load_partial(a + i, rest), kB ? O::load_partial(b + i, rest) : zero,
                kC ? O::load_partial(c + i, rest) : zero);
  O::store_partial(a + i, r, rest);
}

template <class O>
void elementwise(ElementwiseOp op, std::size_t n, typename O::T* a, const typename O::T* b,
                 const typename O::T* c, double s1, double s2) {
  using T = typename O::T;
  using V = typename O::V;
  const V x = O::set1(static_cast<T>(s1));
  const V y = O::set1(static_cast<T>(s2));
  switch (op) {
    case ElementwiseOp::kMulScalar:
      return map_loop<O, false, false>(n, a, b, c, [&](V av, V, V) { return O::mul(av, x); });
    case ElementwiseOp::kMul:
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) { return O::mul(av, bv); });
    case ElementwiseOp::kAdd:
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) { return O::fma(x, bv, av); });
    case ElementwiseOp::kAddScalar:
      return map_loop<O, false, false>(n, a, b, c, [&](V av, V, V) { return O::fma(y, x, av); });
    case ElementwiseOp::kAddcmul:
      return map_loop<O, true, true>(n, a, b, c,
                                     [&](V av, V bv, V cv) { return O::fma(O::mul(x, bv), cv, av); });
    case ElementwiseOp::kAddcdiv:
      return map_loop<O, true, true>(n, a, b, c,
                                     [&](V av, V bv, V cv) { return O::add(av, O::div(O::mul(x, bv), cv)); });
    case ElementwiseOp::kSqrt:
      return map_loop<O, true, false>(n, a, b, c, [&](V, V bv, V) { return O::sqrt(bv); });
    case ElementwiseOp::kClamp:
      // min(max(a, lo), hi) as -max(-max(a, lo), -hi): maximum keeps NaN, and with lo < 0 < hi no zero's sign is in question.
      return map_loop<O, false, false>(n, a, b, c, [&](V av, V, V) { return O::neg(O::maximum(O::neg(O::maximum(av, x)), O::neg(y))); });
    case ElementwiseOp::kLerp: {
      // ATen: |w| < 0.5 ? fma(w, end - self, self) : fma(w - 1, end - self, end)
      const T w = static_cast<T>(s1);
      const bool small = w < T(0.5) && w > T(-0.5);
      const V coeff = O::set1(small ? w : static_cast<T>(w - T(1)));
      return map_loop<O, true, false>(n, a, b, c, [&](V av, V bv, V) {
        return O::fma(coeff, O::sub(bv, av), small ? av : bv);
      });
    }
  }
}

// x - x is 0 for every finite x and NaN for NaN and ±Inf, and NaN is sticky
// under addition: one pass, no compares in the loop.
template <class O>
bool all_finite(std::size_t n, const typename O::T* x) {
  using T = typename O::T;
  using V = typename O::V;
  constexpr std::size_t W = O::W;
  // Four accumulators, so that the adds do not wait on each other.
  V acc = O::set1(T(0)), acc1 = acc, acc2 = acc, acc3 = acc;
  std::size_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V v0 = O::load(x + i), v1 = O::load(x + i + W), v2 = O::load(x + i + 2 * W), v3 = O::load(x + i + 3 * W);
    acc = O::add(acc, O::sub(v0, v0));
    acc1 = O::add(acc1, O::sub(v1, v1));
    acc2 = O::add(acc2, O::sub(v2, v2));
    acc3 = O::add(acc3, O::sub(v3, v3));
  }
  acc = O::add(O::add(acc, acc1), O::add(acc2, acc3));
  for (; i + W <= n; i += W) {
    const V v = O::load(x + i);
    acc = O::add(acc, O::sub(v, v));
  }
  if (i < n) {
    const V v = O::load_partial(x + i, n - i);  // lanes past the end load as 0
    acc = O::add(acc, O::sub(v, v));
  }
  alignas(64) T lanes[W];
  O::store(lanes, acc);
  for (std::size_t j = 0; j < W; ++j) {
    if (lanes[j] != lanes[j]) return false;
  }
  return true;
}

}  // namespace
}  // namespace simd_optim
