// Private, copy-on-write mappings of checkpoint files, handed to JS as
// external ArrayBuffers: loadTorch / loadSafetensors with { mmap: true }.
#pragma once

#include <napi.h>

namespace simd_optim {

// mapFile(fd, size): maps the open file `fd` (which must still be `size`
// bytes long) privately; returns a handle for mappedBuffer. The fd may be
// closed afterwards.
Napi::Value MapFile(const Napi::CallbackInfo& info);

// mappedBuffer(handle, offset, length, uncounted?): an ArrayBuffer over
// `length` bytes of the mapping at `offset`. The mapping is unmapped when the
// handle and every such buffer have been collected.
Napi::Value MappedBuffer(const Napi::CallbackInfo& info);

// loadBuffer(bytes): a page-aligned ArrayBuffer to read a tensor into, not yet
// counted as external memory (state_buffer.h alloc_load_buffer); undefined
// where the caller should make its own.
Napi::Value LoadBuffer(const Napi::CallbackInfo& info);

// countExternal(bytes): reports a finished load's loadBuffer bytes to V8.
Napi::Value CountExternal(const Napi::CallbackInfo& info);

}  // namespace simd_optim
