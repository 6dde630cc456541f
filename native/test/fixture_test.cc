// Every ISA's kernels against PyTorch's own bits, without Node: replays the
// records of test/fixtures/kernel-cases.bin (made from the committed PyTorch
// 1.13 and 2.6 fixtures by test/torch/make-kernel-fixtures.ts, which also
// documents the layout) through the KernelTable, with the hyperparameters and
// per-tensor scalars each PyTorch version's optimizer writes for the kernel
// (so any algorithm replays the same way), and compares the final param and
// state bits (any NaN equals any NaN, as in test/pytorch-bits.test.ts). Each record is run whole and split at 16
// elements, where the thread pool may cut a tensor. scripts/native-tests.sh
// runs it plainly, under ASan + UBSan, and for NEON under qemu-aarch64.
//
//   fixture_test FILE                    exit 0 if every record matches on every ISA
//   fixture_test FILE --flip-expected    flips one expected bit in every record;
//                                        exit 0 only if every record then fails
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "dispatch.h"
#include "kernels/algorithms.h"
#include "kernels/kernels.h"

namespace {

using simd_optim::Algorithm;
using simd_optim::KernelTable;
using simd_optim::Slice;
using simd_optim::step_of;

constexpr uint32_t kFormatVersion = 2;
// The thread pool cuts tensors at multiples of 16 elements (param_group.cc).
constexpr size_t kChunkAlign = 16;

// Reads little-endian fields from the file's bytes, never past its end.
class Reader {
 public:
  explicit Reader(std::vector<unsigned char> bytes) : bytes_(std::move(bytes)) {}
  bool at_end() const { return pos_ == bytes_.size(); }
  const unsigned char* take(size_t count) {
    if (count > bytes_.size() - pos_) throw std::runtime_error("truncated at byte " + std::to_string(pos_));
    const unsigned char* p = bytes_.data() + pos_;
    pos_ += count;
    return p;
  }
  uint64_t uint(size_t width) {
    const unsigned char* p = take(width);
    uint64_t v = 0;
    for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  double f64() {
    const uint64_t bits = uint(8);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  std::string text() {
    const size_t length = uint(2);
    const unsigned char* p = take(length);
    return std::string(p, p + length);
  }
  template <typename T>
  std::vector<T> array(size_t n) {
    if (n > (bytes_.size() - pos_) / sizeof(T)) throw std::runtime_error("array past the end at byte " + std::to_string(pos_));
    std::vector<T> out(n);
    for (T& x : out) {
      const uint64_t bits = uint(sizeof(T));
      if constexpr (sizeof(T) == 4) {
        const uint32_t narrow = static_cast<uint32_t>(bits);
        std::memcpy(&x, &narrow, sizeof x);
      } else {
        std::memcpy(&x, &bits, sizeof x);
      }
    }
    return out;
  }

 private:
  std::vector<unsigned char> bytes_;
  size_t pos_ = 0;
};

// What one PyTorch version expects of a record: the kernel's inputs at each
// call as that version's optimizer writes them, and the bits it produced.
template <typename T>
struct Expectation {
  std::string label;
  bool any_zero_sign;                       // +0 and -0 count as equal
  std::vector<std::vector<double>> hyper;   // per call
  std::vector<std::vector<double>> scalars; // per call
  std::vector<int> arrays;                  // which: 0 param, 1 + k state k
  std::vector<std::vector<T>> values;       // PyTorch's bits, one per entry of `arrays`
};

template <typename T>
struct Record {
  std::string name;
  Algorithm algorithm;
  size_t n;
  std::vector<T> param;
  std::vector<std::vector<T>> state;  // initial, in the kernel's order
  std::vector<std::vector<T>> grads;  // per call
  std::vector<Expectation<T>> expected;
};

template <typename T>
Record<T> read_record(Reader& in, std::string name, Algorithm algorithm) {
  Record<T> r;
  r.name = std::move(name);
  r.algorithm = algorithm;
  r.n = in.uint(4);
  const size_t calls = in.uint(4);
  const size_t states = in.uint(1), hyper = in.uint(1), scalars = in.uint(1);
  const simd_optim::AlgorithmInfo& info = simd_optim::algorithm_info(algorithm);
  if (states != static_cast<size_t>(info.state_count) || hyper != static_cast<size_t>(info.hyper_count) ||
      scalars != static_cast<size_t>(info.scalar_count)) {
    throw std::runtime_error(r.name + ": the record's layout is not " + info.name + "'s");
  }
  r.param = in.array<T>(r.n);
  for (size_t k = 0; k < states; ++k) r.state.push_back(in.array<T>(r.n));
  for (size_t c = 0; c < calls; ++c) r.grads.push_back(in.array<T>(r.n));
  const size_t expectations = in.uint(1);
  for (size_t e = 0; e < expectations; ++e) {
    Expectation<T> x;
    x.label = in.text();
    x.any_zero_sign = in.uint(1) != 0;
    for (size_t c = 0; c < calls; ++c) {
      const bool changed = in.uint(1) != 0;
      if (changed) x.hyper.push_back(in.array<double>(hyper));
      else if (c == 0) throw std::runtime_error(r.name + ": the first call has no hyperparameters");
      else x.hyper.push_back(x.hyper.back());
      x.scalars.push_back(in.array<double>(scalars));
    }
    const uint64_t mask = in.uint(1);
    if (mask >> (1 + states)) throw std::runtime_error(r.name + ": mask names a state array this kernel does not have");
    for (size_t a = 0; a <= states; ++a) {
      if (!((mask >> a) & 1)) continue;
      x.arrays.push_back(static_cast<int>(a));
      x.values.push_back(in.array<T>(r.n));
    }
    r.expected.push_back(std::move(x));
  }
  return r;
}

template <typename T>
bool same(T a, T b, bool any_zero_sign) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (any_zero_sign && a == 0 && b == 0) return true;
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// One call of the kernel with the tensor cut at `split` into [0, split) and
// [split, n), as threads cut it (run_part in param_group.cc): the state
// arrays passed only when the call's hyperparameters use them, the two pieces
// as a list of two slices, which also tests a list.
template <typename T>
void call_kernel(const KernelTable& k, const Record<T>& r, const std::vector<double>& hyper,
                 const std::vector<double>& scalars, size_t split, T* p, const T* g, std::vector<std::vector<T>>& s) {
  const size_t cuts[3] = {0, split, r.n};
  const size_t pieces = split < r.n ? 2 : 1;
  const unsigned used = simd_optim::algorithm_info(r.algorithm).used_states(hyper.data());
  Slice<T> slices[2];
  for (size_t i = 0; i < pieces; ++i) {
    const size_t lo = cuts[i];
    slices[i] = {p + lo, g + lo, {}, scalars.data(), cuts[i + 1] - lo};
    for (size_t j = 0; j < s.size(); ++j) slices[i].state[j] = (used >> j) & 1u ? s[j].data() + lo : nullptr;
  }
  step_of<T>(k, r.algorithm)(hyper.data(), slices, pieces);
}

// Replays a record for one PyTorch version, with the tensor cut at `split`
// (n for one call); returns an empty string, or the first difference.
template <typename T>
std::string replay(const KernelTable& k, const Record<T>& r, const Expectation<T>& x, size_t split) {
  std::vector<T> p = r.param;
  std::vector<std::vector<T>> s = r.state;
  for (size_t c = 0; c < r.grads.size(); ++c) {
    call_kernel(k, r, x.hyper[c], x.scalars[c], split, p.data(), r.grads[c].data(), s);
  }
  for (size_t a = 0; a < x.arrays.size(); ++a) {
    const std::vector<T>& got = x.arrays[a] == 0 ? p : s[x.arrays[a] - 1];
    for (size_t i = 0; i < r.n; ++i) {
      if (same(got[i], x.values[a][i], x.any_zero_sign)) continue;
      char values[96];
      std::snprintf(values, sizeof values, "%.17g (ours) vs %.17g (PyTorch)", static_cast<double>(got[i]),
                    static_cast<double>(x.values[a][i]));
      return "array " + std::to_string(x.arrays[a]) + " element " + std::to_string(i) + ": " + values;
    }
  }
  return "";
}

// Flips the lowest bit of the first expected value that is not NaN, so that
// the record must fail. False if there is none (the record could not fail).
template <typename T>
bool flip_one_bit(Record<T>& r) {
  for (Expectation<T>& x : r.expected) {
    for (std::vector<T>& values : x.values) {
      for (T& v : values) {
        if (std::isnan(v)) continue;
        unsigned char bytes[sizeof(T)];
        std::memcpy(bytes, &v, sizeof(T));
        bytes[0] ^= 1;  // little-endian: the lowest mantissa bit
        std::memcpy(&v, bytes, sizeof(T));
        return true;
      }
    }
  }
  return false;
}

struct Totals {
  long replays = 0;
  long runs = 0;         // (record, ISA) pairs
  long failed_runs = 0;  // pairs where some replay differed
  long unflippable = 0;
};

template <typename T>
void check_record(Record<T>& r, const std::vector<const KernelTable*>& isas, bool flip, Totals& t) {
  if (flip && !flip_one_bit(r)) {
    ++t.unflippable;
    return;
  }
  for (const KernelTable* k : isas) {
    bool failed = false;
    for (const Expectation<T>& x : r.expected) {
      for (size_t split : {r.n, std::min(r.n, kChunkAlign)}) {
        ++t.replays;
        const std::string diff = replay(*k, r, x, split);
        if (diff.empty()) continue;
        if (!flip && !failed) {
          std::fprintf(stderr, "FAIL %s, %s, %s, split at %zu: %s\n", k->isa, r.name.c_str(), x.label.c_str(), split,
                       diff.c_str());
        }
        failed = true;
      }
    }
    ++t.runs;
    if (failed) ++t.failed_runs;
  }
}

std::vector<unsigned char> read_file(const char* path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(std::string("cannot open ") + path);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

}  // namespace

int main(int argc, char** argv) {
  const bool flip = argc == 3 && std::strcmp(argv[2], "--flip-expected") == 0;
  if (argc != 2 && !flip) {
    std::fprintf(stderr, "usage: %s test/fixtures/kernel-cases.bin [--flip-expected]\n", argv[0]);
    return 2;
  }
  std::vector<const KernelTable*> isas;
  std::string names;
  for (const std::string& name : simd_optim::runnable_isas()) {
    const std::string error = simd_optim::select_isa(name);
    if (!error.empty()) {
      std::fprintf(stderr, "FAIL %s\n", error.c_str());
      return 1;
    }
    isas.push_back(&simd_optim::active_kernels());
    names += (names.empty() ? "" : ", ") + name;
  }
  Totals t;
  try {
    Reader in(read_file(argv[1]));
    if (std::memcmp(in.take(4), "SOKF", 4) != 0) throw std::runtime_error("not a kernel fixture file (magic)");
    const uint64_t version = in.uint(4);
    if (version != kFormatVersion) throw std::runtime_error("format version " + std::to_string(version));
    const uint64_t count = in.uint(4);
    for (uint64_t i = 0; i < count; ++i) {
      std::string name = in.text();
      const uint64_t algorithm = in.uint(1), dtype = in.uint(1);
      if (algorithm >= static_cast<uint64_t>(simd_optim::kAlgorithmCount) || dtype > 1) {
        throw std::runtime_error(name + ": unknown algorithm or dtype");
      }
      const Algorithm a = static_cast<Algorithm>(algorithm);
      if (dtype == 0) {
        Record<float> r = read_record<float>(in, std::move(name), a);
        check_record(r, isas, flip, t);
      } else {
        Record<double> r = read_record<double>(in, std::move(name), a);
        check_record(r, isas, flip, t);
      }
    }
    if (!in.at_end()) throw std::runtime_error("bytes after the last record");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "FAIL reading %s: %s\n", argv[1], e.what());
    return 1;
  }
  if (flip) {
    // Every record must notice its flipped bit on every ISA; none may be unable to fail.
    std::printf("fixture_test --flip-expected: ISAs %s; %ld of %ld record runs failed as they must, %ld records could not be flipped\n",
                names.c_str(), t.failed_runs, t.runs, t.unflippable);
    return t.runs > 0 && t.failed_runs == t.runs && t.unflippable == 0 ? 0 : 1;
  }
  std::printf("fixture_test: ISAs %s; %ld record runs against PyTorch 1.13 and 2.6 bits (%ld replays), %ld failed\n",
              names.c_str(), t.runs, t.replays, t.failed_runs);
  return t.runs > 0 && t.failed_runs == 0 ? 0 : 1;
}
