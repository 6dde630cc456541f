// How a step's elements are split between threads, without Node-API, so that
// native/test/split_test.cc can check it: every element in exactly one part.
#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace simd_optim {

// Cuts inside a tensor fall on multiples of this many elements: 64 bytes of
// float32, so threads never share a cache line of a 64-byte aligned buffer.
constexpr std::size_t kChunkAlign = 16;

// Where part `part` of `parts` begins among `total` elements.
inline std::size_t part_begin(std::size_t total, std::size_t part, std::size_t parts) {
  return static_cast<std::size_t>(static_cast<unsigned __int128>(total) * part / parts);
}

// A point of a list of slices: element `offset` of slice `slice`, or (the
// list's size, 0) for its end.
struct Cut {
  std::size_t slice, offset;
};

// The cut at element `point` of a list whose slices start at `starts` (one
// entry per slice, ascending) and hold `total` elements: the offset is
// rounded down to a chunk boundary of its slice, so that neighbouring parts,
// locating the same point, cut at the same element.
inline Cut locate(const std::vector<std::size_t>& starts, std::size_t total, std::size_t point) {
  if (point >= total) return {starts.size(), 0};
  // The last slice that starts at or before the point: it has elements past it.
  const std::size_t s =
      static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), point) - starts.begin()) - 1;
  return {s, (point - starts[s]) / kChunkAlign * kChunkAlign};
}

// Elements [lo, hi) of the list, as at most a piece of one slice
// (piece(slice, begin, end)), the slices after it whole (whole(first,
// count)), and a piece of the last.
template <class Piece, class Whole>
void split_range(const std::vector<std::size_t>& starts, std::size_t total, std::size_t lo, std::size_t hi,
                 Piece piece, Whole whole) {
  if (lo >= hi) return;
  const Cut a = locate(starts, total, lo);
  const Cut b = locate(starts, total, hi);
  if (a.slice == b.slice) {
    if (a.offset < b.offset) piece(a.slice, a.offset, b.offset);
    return;
  }
  std::size_t first_whole = a.slice;
  if (a.offset > 0) {
    const std::size_t end = (a.slice + 1 < starts.size() ? starts[a.slice + 1] : total) - starts[a.slice];
    piece(a.slice, a.offset, end);
    ++first_whole;
  }
  if (b.slice > first_whole) whole(first_whole, b.slice - first_whole);
  if (b.offset > 0) piece(b.slice, std::size_t{0}, b.offset);
}

}  // namespace simd_optim
