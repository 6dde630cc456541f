// Optimizer state buffers: zeroed, aligned, owned by a JS ArrayBuffer.
#pragma once

#include <napi.h>

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

// Whether alloc_state hands out external buffers. False after the runtime
// refused one, or when SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1 (to test the fallback).
bool external_buffers_enabled();

// Whether alloc_state advises buffers of 2 MiB and more as transparent huge
// pages: on Linux unless SIMD_OPTIM_HUGE_PAGES=0.
bool huge_pages_advised();

}  // namespace simd_optim
