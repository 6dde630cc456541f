// x86-64 AVX2 + FMA kernels: 8 floats or 4 doubles per vector. Compiled with
// -mavx2 -mfma for this file only; dispatch.cc calls it only after cpuid and
// xgetbv say the CPU and the OS support it.
#include "avx2_ops.h"
#include "adagrad_step.h"
#include "adam_step.h"
#include "rmsprop_step.h"
#include "norm.h"
#include "sgd_step.h"

namespace simd_optim {

const KernelTable& avx2_kernels() {
  static const KernelTable table{
      "avx2",
      {&rmsprop_step<Avx2F32>, &adagrad_step<Avx2F32>, &sgd_step<Avx2F32>, &adam_step<Avx2F32>},
      {&rmsprop_step<Avx2F64>, &adagrad_step<Avx2F64>, &sgd_step<Avx2F64>, &adam_step<Avx2F64>},
      &elementwise<Avx2F32>, &elementwise<Avx2F64>,
      &all_finite<Avx2F32>, &all_finite<Avx2F64>,
      &norm_block<Avx2F64, float>, &norm_block<Avx2F64, double>};
  return table;
}

}  // namespace simd_optim
