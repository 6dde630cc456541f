// The thread split of a step (native/step_split.h) against a count of every
// element: for random lists of tensors (empty ones, ones shorter than a
// chunk, long ones) and every part count from 1 to past the element count,
// each element is stepped by exactly one part, pieces are cut on chunk
// boundaries, and whole runs are never empty.
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "step_split.h"

namespace {

int failures = 0;
long checks = 0;

void fail(const std::string& what) {
  if (++failures <= 20) std::fprintf(stderr, "FAIL %s\n", what.c_str());
}

void check_list(const std::vector<std::size_t>& lengths) {
  std::vector<std::size_t> starts;
  std::size_t total = 0;
  for (std::size_t n : lengths) {
    starts.push_back(total);
    total += n;
  }
  std::string label = "lengths";
  for (std::size_t n : lengths) label += " " + std::to_string(n);
  for (std::size_t parts = 1; parts <= total + 3; parts += parts < 40 ? 1 : parts / 4) {
    std::vector<int> seen(total, 0);
    for (std::size_t part = 0; part < parts; ++part) {
      const std::size_t lo = simd_optim::part_begin(total, part, parts);
      const std::size_t hi = simd_optim::part_begin(total, part + 1, parts);
      simd_optim::split_range(
          starts, total, lo, hi,
          [&](std::size_t slice, std::size_t begin, std::size_t end) {
            if (begin >= end || end > lengths[slice]) fail(label + ": bad piece of slice " + std::to_string(slice));
            if (begin % simd_optim::kChunkAlign != 0 ||
                (end % simd_optim::kChunkAlign != 0 && end != lengths[slice])) {
              fail(label + ": piece of slice " + std::to_string(slice) + " not cut on a chunk boundary");
            }
            for (std::size_t i = begin; i < end && i < lengths[slice]; ++i) ++seen[starts[slice] + i];
          },
          [&](std::size_t first, std::size_t count) {
            if (count == 0 || first + count > lengths.size()) fail(label + ": bad run of whole slices");
            for (std::size_t s = first; s < first + count && s < lengths.size(); ++s) {
              for (std::size_t i = 0; i < lengths[s]; ++i) ++seen[starts[s] + i];
            }
          });
    }
    for (std::size_t i = 0; i < total; ++i) {
      ++checks;
      if (seen[i] != 1) {
        fail(label + ", " + std::to_string(parts) + " parts: element " + std::to_string(i) + " stepped " +
             std::to_string(seen[i]) + " times");
        break;
      }
    }
  }
}

}  // namespace

int main() {
  std::mt19937 random(12345);
  const std::size_t pick[] = {0, 1, 5, 15, 16, 17, 31, 32, 33, 100, 257};
  for (int list = 0; list < 3000; ++list) {
    std::vector<std::size_t> lengths(1 + random() % 10);
    for (std::size_t& n : lengths) n = random() % 2 ? pick[random() % 11] : random() % 300;
    check_list(lengths);
  }
  check_list({0});
  check_list({0, 0, 40, 0});
  check_list({100000, 17, 3});
  std::printf("split_test: %ld element checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
