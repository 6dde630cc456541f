// Kernel tests without Node: every ISA this build has and this CPU runs,
// against the scalar kernels, every algorithm, bit for bit (NaN equal to NaN), on lengths
// 0..257 and misaligned pointers, with guard words around every array to
// catch a write past either end. Plus a few values worked out by hand from
// docs/spec/rmsprop-arithmetic.md, so scalar is not only checked against
// itself. Run by scripts/native-tests.sh plainly, under ASan + UBSan, and
// (for NEON) cross-compiled and run under qemu-aarch64.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <array>

#include "dispatch.h"
#include "kernels/adagrad.h"
#include "kernels/adam.h"
#include "kernels/kernels.h"
#include "kernels/rmsprop.h"
#include "kernels/sgd.h"

namespace {

using simd_optim::Algorithm;
using simd_optim::KernelTable;
using simd_optim::Slice;
using simd_optim::step_of;

// RMSprop's settings, as the hyperparameter array the kernel reads (rmsprop.h).
struct RmspropHyper {
  double lr = 0.01, alpha = 0.99, eps = 1e-8, weight_decay = 0, momentum = 0;
  bool centered = false, maximize = false, lerp_grad_avg = true;
  std::array<double, simd_optim::rmsprop::kHyperCount> array() const {
    namespace r = simd_optim::rmsprop;
    std::array<double, r::kHyperCount> h{};
    h[r::kLr] = lr;
    h[r::kAlpha] = alpha;
    h[r::kEps] = eps;
    h[r::kWeightDecay] = weight_decay;
    h[r::kMomentum] = momentum;
    h[r::kCentered] = centered;
    h[r::kMaximize] = maximize;
    h[r::kLerpGradAvg] = lerp_grad_avg;
    return h;
  }
};

// Adagrad's settings (adagrad.h), with the one tensor's learning rate.
struct AdagradHyper {
  double clr = 0.01, eps = 1e-10, weight_decay = 0;
  bool maximize = false;
  std::array<double, simd_optim::adagrad::kHyperCount> array() const {
    namespace a = simd_optim::adagrad;
    std::array<double, a::kHyperCount> h{};
    h[a::kEps] = eps;
    h[a::kWeightDecay] = weight_decay;
    h[a::kMaximize] = maximize;
    return h;
  }
};

int failures = 0;
long checks = 0;

void fail(const std::string& what) {
  if (++failures <= 20) std::fprintf(stderr, "FAIL %s\n", what.c_str());
}

uint32_t rng_state = 0x12345678u;
uint32_t next() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

// Values across many binades, both signs, with zeros and (if asked) NaN/Inf.
template <typename T>
T value(bool specials) {
  const uint32_t r = next();
  if (r % 29 == 0) return T(0);
  if (specials && r % 97 == 1) return std::numeric_limits<T>::quiet_NaN();
  if (specials && r % 97 == 2) return (r & 4) ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
  const T mantissa = T(1) + T(next()) / T(4294967296.0);
  return ((r & 1) ? -1 : 1) * std::ldexp(mantissa, static_cast<int>(next() % 41) - 20);
}

template <typename T>
bool same(T a, T b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// An array of n elements placed `offset` elements past a 64-byte boundary,
// with guard words on both sides. Misalignment in element steps: the kernels
// read through T*, so an offset that is not a multiple of sizeof(T) would be
// undefined behaviour in C++ (and is not something JS can hand us: typed
// arrays are element-aligned).
template <typename T>
class Guarded {
 public:
  static constexpr size_t kGuard = 16;
  Guarded(size_t n, size_t offset) : n_(n), offset_(offset), storage_(n + offset + 2 * kGuard + 64 / sizeof(T)) {
    auto address = reinterpret_cast<uintptr_t>(storage_.data());
    const size_t skew = (64 - address % 64) % 64 / sizeof(T);
    begin_ = storage_.data() + skew + kGuard + offset_;
    for (size_t i = 0; i < kGuard; ++i) std::memcpy(&begin_[-1 - static_cast<long>(i)], &kCanary, sizeof(T)),
                                          std::memcpy(&begin_[n_ + i], &kCanary, sizeof(T));
  }
  T* data() { return begin_; }
  bool guards_intact() const {
    for (size_t i = 0; i < kGuard; ++i) {
      if (std::memcmp(&begin_[-1 - static_cast<long>(i)], &kCanary, sizeof(T)) != 0) return false;
      if (std::memcmp(&begin_[n_ + i], &kCanary, sizeof(T)) != 0) return false;
    }
    return true;
  }

 private:
  static constexpr uint64_t kCanary = 0x7ff4deadbeef7ff4ull;  // a NaN pattern no kernel writes
  size_t n_, offset_;
  std::vector<T> storage_;
  T* begin_;
};

template <typename T>
struct Arrays {
  std::vector<Guarded<T>> a;
  Arrays(size_t count, size_t n, size_t offset) {
    for (size_t i = 0; i < count; ++i) a.emplace_back(n, offset);
  }
};

template <typename T>
void fill(T* x, size_t n, bool specials, bool positive = false) {
  for (size_t i = 0; i < n; ++i) x[i] = positive ? std::fabs(value<T>(specials)) : value<T>(specials);
}

template <typename T>
void compare(const std::string& label, const T* got, const T* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    ++checks;
    if (!same(got[i], want[i])) {
      fail(label + " element " + std::to_string(i) + ": " + std::to_string(got[i]) + " vs scalar " + std::to_string(want[i]));
      return;
    }
  }
}

template <typename T>
void run_rmsprop(const KernelTable& k, const RmspropHyper& h, size_t n, T* p, const T* g, T* v, T* b, T* a) {
  const Slice<T> slice{p, g, {v, b, a}, nullptr, n};
  step_of<T>(k, Algorithm::kRmsprop)(h.array().data(), &slice, 1);
}

template <typename T>
void run_adagrad(const KernelTable& k, const AdagradHyper& h, size_t n, T* p, const T* g, T* s) {
  const double clr = h.clr;
  const Slice<T> slice{p, g, {s, nullptr, nullptr}, &clr, n};
  step_of<T>(k, Algorithm::kAdagrad)(h.array().data(), &slice, 1);
}

// One tensor through any algorithm's kernel: a[0] param, a[1] grad, a[2..] its
// state arrays (nullptr where the settings use none), with its scalars.
template <typename T>
void run_step(const KernelTable& k, Algorithm algorithm, const double* hyper, const double* scalars, size_t n,
              T* const* a, int states) {
  Slice<T> slice{a[0], a[1], {nullptr, nullptr, nullptr}, scalars, n};
  for (int s = 0; s < states; ++s) slice.state[s] = a[2 + s];
  step_of<T>(k, algorithm)(hyper, &slice, 1);
}

// One ISA against scalar on one generic configuration: `count` arrays
// (param, grad, then `states` state arrays, those past `used` left out),
// filled alike, stepped by both, compared, guards checked.
template <typename T>
void check_config(const KernelTable& isa, const KernelTable& scalar, Algorithm algorithm, const char* name,
                  const double* hyper, const double* scalars, unsigned used, int states, size_t n, size_t offset,
                  bool specials, const std::string& what) {
  const int count = 2 + states;
  Arrays<T> mine(count, n, offset), ref(count, n, 0);
  std::vector<T*> mp(count), rp(count);
  for (int r = 0; r < count; ++r) {
    fill(ref.a[r].data(), n, specials, r >= 3);  // second moments and the like start non-negative
    std::memcpy(mine.a[r].data(), ref.a[r].data(), n * sizeof(T));
    const bool present = r < 2 || ((used >> (r - 2)) & 1);
    mp[r] = present ? mine.a[r].data() : nullptr;
    rp[r] = present ? ref.a[r].data() : nullptr;
  }
  run_step(scalar, algorithm, hyper, scalars, n, rp.data(), states);
  run_step(isa, algorithm, hyper, scalars, n, mp.data(), states);
  const std::string label = std::string(isa.isa) + " " + name + " " + (sizeof(T) == 4 ? "f32" : "f64") +
                            " n=" + std::to_string(n) + " offset=" + std::to_string(offset) + " " + what;
  for (int r = 0; r < count; ++r) {
    compare(label + " array " + std::to_string(r), mine.a[r].data(), ref.a[r].data(), n);
    if (!mine.a[r].guards_intact()) fail(label + ": wrote outside array " + std::to_string(r));
  }
}

// SGD in every combination: momentum, dampening, Nesterov, weight decay,
// maximize, and the first step of a new buffer.
template <typename T>
void check_sgd(const KernelTable& isa, const KernelTable& scalar, size_t n, size_t offset, bool specials) {
  namespace s = simd_optim::sgd;
  for (int flags = 0; flags < 64; ++flags) {
    std::array<double, s::kHyperCount> h{};
    h[s::kLr] = 0.01;
    h[s::kMomentum] = (flags & 1) ? 0.9 : 0.0;
    h[s::kDampening] = (flags & 2) ? 0.1 : 0.0;
    h[s::kNesterov] = (flags & 4) ? 1 : 0;
    h[s::kWeightDecay] = (flags & 8) ? 0.05 : 0.0;
    h[s::kMaximize] = (flags & 16) ? 1 : 0;
    const double first = (flags & 32) ? 1 : 0;
    const unsigned used = h[s::kMomentum] != 0 ? 1u : 0u;
    check_config<T>(isa, scalar, Algorithm::kSgd, "sgd", h.data(), &first, used, s::kStateCount, n, offset, specials,
                    "flags=" + std::to_string(flags));
  }
}

// Adam and AdamW in every combination: b1 = 0 or not, weight decay, amsgrad,
// maximize, decoupled decay, and each generation's exp_avg update.
template <typename T>
void check_adam(const KernelTable& isa, const KernelTable& scalar, size_t n, size_t offset, bool specials) {
  namespace a = simd_optim::adam;
  for (int flags = 0; flags < 64; ++flags) {
    std::array<double, a::kHyperCount> h{};
    h[a::kLr] = 0.001;
    h[a::kBeta1] = (flags & 1) ? 0.0 : 0.9;
    h[a::kBeta2] = 0.999;
    h[a::kEps] = 1e-8;
    h[a::kWeightDecay] = (flags & 2) ? 0.05 : 0.0;
    h[a::kAmsgrad] = (flags & 4) ? 1 : 0;
    h[a::kMaximize] = (flags & 8) ? 1 : 0;
    h[a::kDecoupled] = (flags & 16) ? 1 : 0;
    h[a::kLerpExpAvg] = (flags & 32) ? 1 : 0;
    std::array<double, a::kScalarCount> scalars{};
    scalars[a::kStepSize] = 0.001 / (1 - 0.9 * 0.9 * 0.9);
    scalars[a::kBc2Sqrt] = std::sqrt(1 - 0.999 * 0.999 * 0.999);
    const unsigned used = 3u | (h[a::kAmsgrad] != 0 ? 4u : 0u);
    check_config<T>(isa, scalar, Algorithm::kAdam, "adam", h.data(), scalars.data(), used, a::kStateCount, n, offset,
                    specials, "flags=" + std::to_string(flags));
  }
}

template <typename T>
void run_elementwise(const KernelTable& k, simd_optim::ElementwiseOp op, size_t n, T* a, const T* b, const T* c, double s1, double s2) {
  if constexpr (sizeof(T) == 4) k.elementwise_f32(op, n, a, b, c, s1, s2);
  else k.elementwise_f64(op, n, a, b, c, s1, s2);
}

template <typename T>
bool run_all_finite(const KernelTable& k, size_t n, const T* x) {
  if constexpr (sizeof(T) == 4) return k.all_finite_f32(n, x);
  else return k.all_finite_f64(n, x);
}

template <typename T>
double run_norm_block(const KernelTable& k, simd_optim::NormKind kind, const T* x, size_t n, double p) {
  if constexpr (sizeof(T) == 4) return k.norm_block_f32(kind, x, n, p);
  else return k.norm_block_f64(kind, x, n, p);
}

// The gradient norm's block reduction: every kind gives the scalar kernel's
// double, bit for bit (its order is fixed: kernels/norm.h), NaN included.
template <typename T>
void check_norm_block(const KernelTable& isa, const KernelTable& scalar, size_t n, size_t offset, bool specials) {
  const char* dtype = sizeof(T) == 4 ? "f32" : "f64";
  Guarded<T> x(n, offset);
  fill(x.data(), n, specials, false);
  for (int kind = 0; kind <= static_cast<int>(simd_optim::NormKind::kLp); ++kind) {
    const auto k = static_cast<simd_optim::NormKind>(kind);
    const double got = run_norm_block(isa, k, x.data(), n, 3.0);
    const double want = run_norm_block(scalar, k, x.data(), n, 3.0);
    compare(std::string(isa.isa) + " norm_block " + dtype + " kind=" + std::to_string(kind) + " n=" + std::to_string(n), &got, &want, 1);
  }
}

// One ISA against scalar, for one dtype, over every configuration, length and offset.
template <typename T>
void check_isa(const KernelTable& isa, const KernelTable& scalar) {
  const char* dtype = sizeof(T) == 4 ? "f32" : "f64";
  const size_t offsets = 64 / sizeof(T);
  for (size_t n = 0; n <= 257; ++n) {
    const size_t offset = n % offsets;  // every offset, spread over the lengths
    const bool specials = n % 5 == 0;
    for (int flags = 0; flags < 64; ++flags) {
      RmspropHyper h;
      h.lr = 0.01;
      h.alpha = (flags & 32) ? 0.3 : 0.99;
      h.eps = (flags & 16) ? 0.0 : 1e-8;
      h.weight_decay = (flags & 1) ? 0.05 : 0.0;
      h.momentum = (flags & 2) ? 0.9 : 0.0;
      h.centered = flags & 4;
      h.maximize = flags & 8;
      h.lerp_grad_avg = (flags & 16) == 0 || (flags & 1);
      Arrays<T> mine(5, n, offset), ref(5, n, 0);
      for (int r = 0; r < 5; ++r) {
        fill(ref.a[r].data(), n, specials, r == 2);  // square_avg starts non-negative
        std::memcpy(mine.a[r].data(), ref.a[r].data(), n * sizeof(T));
      }
      run_rmsprop(scalar, h, n, ref.a[0].data(), ref.a[1].data(), ref.a[2].data(), h.momentum > 0 ? ref.a[3].data() : nullptr, h.centered ? ref.a[4].data() : nullptr);
      run_rmsprop(isa, h, n, mine.a[0].data(), mine.a[1].data(), mine.a[2].data(), h.momentum > 0 ? mine.a[3].data() : nullptr, h.centered ? mine.a[4].data() : nullptr);
      const std::string label = std::string(isa.isa) + " rmsprop " + dtype + " n=" + std::to_string(n) + " offset=" + std::to_string(offset) + " flags=" + std::to_string(flags);
      for (int r = 0; r < 5; ++r) {
        compare(label + " array " + std::to_string(r), mine.a[r].data(), ref.a[r].data(), n);
        if (!mine.a[r].guards_intact()) fail(label + ": wrote outside array " + std::to_string(r));
      }
    }
    for (int flags = 0; flags < 4; ++flags) {
      AdagradHyper h;
      h.clr = 0.05;
      h.eps = 1e-10;
      h.weight_decay = (flags & 1) ? 0.01 : 0.0;
      h.maximize = flags & 2;
      Arrays<T> mine(3, n, offset), ref(3, n, 0);
      for (int r = 0; r < 3; ++r) {
        fill(ref.a[r].data(), n, specials, r == 2);
        std::memcpy(mine.a[r].data(), ref.a[r].data(), n * sizeof(T));
      }
      run_adagrad(scalar, h, n, ref.a[0].data(), ref.a[1].data(), ref.a[2].data());
      run_adagrad(isa, h, n, mine.a[0].data(), mine.a[1].data(), mine.a[2].data());
      const std::string label = std::string(isa.isa) + " adagrad " + dtype + " n=" + std::to_string(n) + " flags=" + std::to_string(flags);
      for (int r = 0; r < 3; ++r) {
        compare(label + " array " + std::to_string(r), mine.a[r].data(), ref.a[r].data(), n);
        if (!mine.a[r].guards_intact()) fail(label + ": wrote outside array " + std::to_string(r));
      }
    }
    check_sgd<T>(isa, scalar, n, offset, specials);
    check_adam<T>(isa, scalar, n, offset, specials);
    for (int op = 0; op < simd_optim::kElementwiseOpCount; ++op) {
      Arrays<T> mine(3, n, offset), ref(3, n, 0);
      for (int r = 0; r < 3; ++r) {
        fill(ref.a[r].data(), n, specials, op == 6 && r == 1);
        std::memcpy(mine.a[r].data(), ref.a[r].data(), n * sizeof(T));
      }
      const auto kind = static_cast<simd_optim::ElementwiseOp>(op);
      const double s1 = op == 7 ? (n % 2 ? 0.3 : 0.7) : -0.37, s2 = 1.5;
      run_elementwise(scalar, kind, n, ref.a[0].data(), ref.a[1].data(), ref.a[2].data(), s1, s2);
      run_elementwise(isa, kind, n, mine.a[0].data(), mine.a[1].data(), mine.a[2].data(), s1, s2);
      const std::string label = std::string(isa.isa) + " elementwise " + dtype + " op=" + std::to_string(op) + " n=" + std::to_string(n);
      compare(label, mine.a[0].data(), ref.a[0].data(), n);
      for (int r = 0; r < 3; ++r) if (!mine.a[r].guards_intact()) fail(label + ": wrote outside an array");
    }
    check_norm_block<T>(isa, scalar, n, offset, specials);
    if (n == 257) {
      for (const size_t m : {size_t{4095}, size_t{4096}}) check_norm_block<T>(isa, scalar, m, m % offsets, false);
    }
    // all_finite: a clean array, then one bad value at each position.
    Guarded<T> x(n, offset);
    for (size_t i = 0; i < n; ++i) x.data()[i] = value<T>(false);
    ++checks;
    if (!run_all_finite(isa, n, x.data())) fail(std::string(isa.isa) + " all_finite " + dtype + " n=" + std::to_string(n) + ": finite array reported non-finite");
    for (size_t at = 0; at < n; at += 1 + n / 16) {
      const T saved = x.data()[at];
      x.data()[at] = (at & 1) ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::quiet_NaN();
      ++checks;
      if (run_all_finite(isa, n, x.data())) fail(std::string(isa.isa) + " all_finite " + dtype + " n=" + std::to_string(n) + " missed a bad value at " + std::to_string(at));
      x.data()[at] = saved;
    }
  }
}

// Worked by hand from the spec: one element, float32, step by step.
void check_spec() {
  const KernelTable& k = simd_optim::scalar_kernels();
  RmspropHyper h;
  h.lr = 0.01;
  h.alpha = 0.99;
  h.eps = 1e-8;
  float p = 1.5f, g = 0.25f, v = 0.0f;
  run_rmsprop<float>(k, h, 1, &p, &g, &v, nullptr, nullptr);
  const float c = static_cast<float>(1.0 - 0.99);
  const float v_want = std::fma(c * 0.25f, 0.25f, 0.0f * static_cast<float>(0.99));
  const float avg = std::sqrt(v_want) + static_cast<float>(1e-8);
  const float p_want = 1.5f + (static_cast<float>(-0.01) * 0.25f) / avg;
  ++checks;
  if (!same(v, v_want) || !same(p, p_want)) fail("spec: plain RMSprop step of one float32 element");

  // Centered, 2.x lerp with alpha = 0.3: the second branch, fma(c - 1, g - ga, g).
  h.alpha = 0.3;
  h.centered = true;
  float p2 = 2.0f, g2 = -3.0f, v2 = 0.5f, ga = 0.25f;
  run_rmsprop<float>(k, h, 1, &p2, &g2, &v2, nullptr, &ga);
  const float c2 = static_cast<float>(1.0 - 0.3);
  const float v2_want = std::fma(c2 * -3.0f, -3.0f, 0.5f * 0.3f);
  const float ga_want = std::fma(c2 - 1.0f, -3.0f - 0.25f, -3.0f);
  const float avg2 = std::sqrt(std::fma(-ga_want, ga_want, v2_want)) + static_cast<float>(1e-8);
  const float p2_want = 2.0f + (static_cast<float>(-0.01) * -3.0f) / avg2;
  ++checks;
  if (!same(v2, v2_want) || !same(ga, ga_want) || !same(p2, p2_want)) fail("spec: centered RMSprop, lerp's second branch");

  // The fma is really fused: (1 + 2^-12)^2 - 1 keeps its 2^-24.
  float a = -1.0f;
  const float t = 1.0f + std::ldexp(1.0f, -12);
  k.elementwise_f32(simd_optim::ElementwiseOp::kAddcmul, 1, &a, &t, &t, 1.0, 0.0);
  ++checks;
  if (a != std::ldexp(1.0f, -11) + std::ldexp(1.0f, -24)) fail("spec: addcmul is one fused multiply-add");
}

}  // namespace

// Many tensors of different lengths in one call (as a param group's step
// makes it) against one scalar call per tensor.
template <typename T>
void check_slices(const KernelTable& isa, const KernelTable& scalar) {
  const size_t lengths[] = {100, 0, 1, 17, 16, 257, 33, 100, 7, 64, 15, 100, 3, 48, 129, 100};
  constexpr size_t kTensors = sizeof lengths / sizeof lengths[0];
  for (int flags = 0; flags < 8; ++flags) {
    RmspropHyper h;
    h.momentum = (flags & 1) ? 0.9 : 0.0;
    h.centered = flags & 2;
    h.weight_decay = (flags & 4) ? 0.05 : 0.0;
    std::vector<Arrays<T>> mine, ref;
    mine.reserve(kTensors);
    ref.reserve(kTensors);
    for (size_t t = 0; t < kTensors; ++t) {
      mine.emplace_back(5, lengths[t], t % 4);
      ref.emplace_back(5, lengths[t], 0);
      for (int r = 0; r < 5; ++r) {
        fill(ref[t].a[r].data(), lengths[t], t % 3 == 0, r == 2);
        std::memcpy(mine[t].a[r].data(), ref[t].a[r].data(), lengths[t] * sizeof(T));
      }
    }
    std::vector<Slice<T>> slices;
    for (size_t t = 0; t < kTensors; ++t) {
      auto& a = mine[t].a;
      slices.push_back({a[0].data(), a[1].data(), {a[2].data(), h.momentum > 0 ? a[3].data() : nullptr,
                        h.centered ? a[4].data() : nullptr}, nullptr, lengths[t]});
      auto& b = ref[t].a;
      run_rmsprop(scalar, h, lengths[t], b[0].data(), b[1].data(), b[2].data(), h.momentum > 0 ? b[3].data() : nullptr,
                  h.centered ? b[4].data() : nullptr);
    }
    step_of<T>(isa, Algorithm::kRmsprop)(h.array().data(), slices.data(), slices.size());
    for (size_t t = 0; t < kTensors; ++t) {
      const std::string label = std::string(isa.isa) + " rmsprop " + (sizeof(T) == 4 ? "f32" : "f64") +
                                " slice " + std::to_string(t) + " of one call, flags=" + std::to_string(flags);
      for (int r = 0; r < 5; ++r) {
        compare(label + " array " + std::to_string(r), mine[t].a[r].data(), ref[t].a[r].data(), lengths[t]);
        if (!mine[t].a[r].guards_intact()) fail(label + ": wrote outside array " + std::to_string(r));
      }
    }
  }
}

int main() {
  check_spec();
  const KernelTable& scalar = simd_optim::scalar_kernels();
  std::string tested;
  for (const std::string& name : simd_optim::runnable_isas()) {
    const std::string error = simd_optim::select_isa(name);
    if (!error.empty()) {
      fail(error);
      continue;
    }
    const KernelTable& isa = simd_optim::active_kernels();
    check_isa<float>(isa, scalar);
    check_isa<double>(isa, scalar);
    check_slices<float>(isa, scalar);
    check_slices<double>(isa, scalar);
    tested += (tested.empty() ? "" : ", ") + name;
  }
  std::printf("kernel_test: ISAs %s; %ld checks, %d failed\n", tested.c_str(), checks, failures);
  std::printf("%d passed, %d failed\n", failures == 0 ? 1 : 0, failures == 0 ? 0 : 1);
  return failures == 0 ? 0 : 1;
}
