// Optimizer state buffers: zeroed, aligned, owned by a JS ArrayBuffer.
#pragma once

#include <napi.h>

namespace simd_optim {

enum class DType { kFloat32, kFloat64 };

// A zeroed Float32Array/Float64Array of `length` elements whose data starts on
// a 64-byte boundary. When it is large and `like` (its parameter's data) is
// given, it starts `quarter` quarters of a 4 KiB page (1-3) after `like`'s
// cache line, modulo the page (see state_buffer.cc: 4K aliasing). "Large" is
// from 16 KiB. From 2 MiB
// it starts that far past a 2 MiB boundary and asks for transparent huge pages
// (Linux, unless huge_pages_advised() is false). Native
// memory handed to JS as an external ArrayBuffer (freed by its finalizer);
// where the runtime refuses external buffers (napi_no_external_buffers_allowed,
// e.g. Electron) or when forced, a V8 ArrayBuffer viewed at the offset that
// gives the same placement.
Napi::TypedArray alloc_state(Napi::Env env, DType dtype, size_t length, const void* like, int quarter);

// Whether alloc_state hands out external buffers. False after the runtime
// refused one, or when SIMD_OPTIM_NO_EXTERNAL_BUFFERS=1 (to test the fallback).
bool external_buffers_enabled();

// Whether alloc_state advises buffers of 2 MiB and more as transparent huge
// pages: on Linux unless SIMD_OPTIM_HUGE_PAGES=0.
bool huge_pages_advised();

}  // namespace simd_optim
