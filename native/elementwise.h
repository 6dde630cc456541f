// Node-API glue for the elementwise ops (lib/engine/ops.ts).
#pragma once

#include <napi.h>

namespace simd_optim {

// elementwise(op, a, b | null, c | null, s1, s2): a is written in place.
Napi::Value Elementwise(const Napi::CallbackInfo& info);

}  // namespace simd_optim
