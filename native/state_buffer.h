// Optimizer state buffers: zeroed, aligned, owned by a JS ArrayBuffer.
#pragma once

#include <napi.h>

#include <vector>

namespace simd_optim {

enum class DType { kFloat32, kFloat64 };

// A zeroed Float32Array/Float64Array of `length` elements whose data starts on
// a 64-byte boundary. From 16 KiB, given `like` (its parameter's data), it
// starts `quarter` quarters of a 4 KiB page (1-3) after `like`'s cache line,
// modulo the page (see state_buffer.cc: 4K aliasing). From 2 MiB it starts
// that far past a 2 MiB boundary, in a mapping of its own whose whole 2 MiB
// pages ask for transparent huge pages (Linux, unless huge_pages_advised() is
// false). Native memory handed to JS as an external ArrayBuffer (freed by its
// finalizer); beyond 4 GiB (Node's cap on external buffers), where the
// runtime refuses external buffers (napi_no_external_buffers_allowed, e.g.
// Electron) or when forced, a V8 ArrayBuffer viewed at the offset that gives
// the same placement.
Napi::TypedArray alloc_state(Napi::Env env, DType dtype, size_t length, const void* like, int quarter);

// Zeroed arrays of `lengths[i]` elements, each placed as alloc_state would
// place it against `likes[i]` (may be null) within a page, laid out in order
// in one allocation: page-aligned, and from 2 MiB 2 MiB-aligned and advised as
// huge pages, so that the state of many mid-sized tensors (too small for a
// huge page of their own) sits on huge pages. Each array has an external
// ArrayBuffer of its own, which users cannot tell from a separate
// allocation; a collected array's whole pages are returned at once, and the
// allocation is unmapped with the last array. Where external buffers are
// refused, and for empty arrays, alloc_state.
Napi::Array alloc_state_views(Napi::Env env, DType dtype, const std::vector<size_t>& lengths,
                              const std::vector<const void*>& likes, int quarter);

// A zeroed array of `length` elements (at most 16 MiB) for `zeros`: carved,
// page-aligned, from this env's arena of 16 MiB allocations advised as huge
// pages, in an external ArrayBuffer of its own. A collected array's whole
// pages are returned at once; an arena allocation is unmapped with the last
// of its arrays. A V8 array where external buffers are refused.
Napi::TypedArray alloc_zeros(Napi::Env env, DType dtype, size_t length);

// Whether alloc_state hands out external buffers. False after the runtime
// refused one, or when SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1 (to test the fallback).
bool external_buffers_enabled();

// Whether alloc_state advises buffers of 2 MiB and more as transparent huge
// pages: on Linux unless SIMD_OPTIM_HUGE_PAGES=0.
bool huge_pages_advised();

// An ArrayBuffer of `bytes` bytes, not zeroed, for loadTorch to read a
// tensor into (the caller must overwrite all of it before it is seen):
// page-aligned (reads into it run faster than into V8's buffers, which start
// 16 bytes into a page). It is not
// counted as V8's external memory until the caller reports the bytes of its
// whole load with count_external, so that V8 runs one GC for a load rather
// than one per tensor. Undefined when the size is 0, past 4 GiB, or external
// buffers are refused: the caller makes a V8 ArrayBuffer then.
Napi::Value alloc_load_buffer(Napi::Env env, size_t bytes);

// Reports `bytes` (may be negative) to V8 as external memory.
void count_external(Napi::Env env, int64_t bytes);

}  // namespace simd_optim
