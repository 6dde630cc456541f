// Node-API glue for work over a list of arrays, split across the thread
// pool: the gradient norm's reduction and in-place elementwise ops (clipping
// and weight averaging, lib/sched/ and lib/clip/).
#pragma once

#include <napi.h>

namespace simd_optim {

// listNorm(arrays, kind, p, threads): the sum of |x|, x² or |x|^p over every
// element, or the max |x| (NormKind), in a fixed order (kernels/norm.h).
Napi::Value ListNorm(const Napi::CallbackInfo& info);

// mapList(op, as, bs | null, s1, s2, threads): elementwise(op) on each as[i]
// (with bs[i]), in place.
Napi::Value MapList(const Napi::CallbackInfo& info);

}  // namespace simd_optim
