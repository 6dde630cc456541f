// CPU detection (cpuid, then xgetbv to confirm the OS saves the wide
// registers) and the choice of kernel table. Kept in one file, compiled
// without ISA flags, so it runs on any CPU the addon loads on.
#include "dispatch.h"

#include <atomic>
#include <cstdlib>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace simd_optim {
namespace {

struct CpuFeatures {
  bool avx2_fma = false;
  bool avx512f = false;
};

#if defined(__x86_64__) || defined(_M_X64)
unsigned long long read_xcr0() {
  unsigned int eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & (1u << 27);
  const bool fma = ecx & (1u << 12);
  const bool avx = ecx & (1u << 28);
  if (!osxsave || !avx) return f;
  const unsigned long long xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;             // SSE and AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;           // plus opmask, ZMM_Hi256, Hi16_ZMM
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const bool avx2 = ebx & (1u << 5);
  const bool avx512f = ebx & (1u << 16);
  f.avx2_fma = os_ymm && avx2 && fma;
  f.avx512f = os_zmm && avx512f && f.avx2_fma;
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

const KernelTable* table_for(const std::string& name, const CpuFeatures& cpu) {
  if (name == "scalar") return &scalar_kernels();
#if defined(SIMD_OPTIM_HAVE_AVX2)
  if (name == "avx2" && cpu.avx2_fma) return &avx2_kernels();
#endif
#if defined(SIMD_OPTIM_HAVE_AVX512)
  if (name == "avx512" && cpu.avx512f) return &avx512_kernels();
#endif
#if defined(SIMD_OPTIM_HAVE_NEON)
  if (name == "neon") return &neon_kernels();
#endif
  (void)cpu;
  return nullptr;
}

const CpuFeatures& cpu() {
  static const CpuFeatures features = detect();
  return features;
}

std::string& env_error() {
  static std::string error;
  return error;
}

const KernelTable* initial_table() {
  const char* forced = std::getenv("SIMD_OPTIM_ISA");
  if (forced != nullptr && *forced != '\0') {
    if (const KernelTable* t = table_for(forced, cpu())) return t;
    std::string known;
    for (const std::string& isa : runnable_isas()) known += (known.empty() ? "" : ", ") + isa;
    env_error() = std::string("SIMD_OPTIM_ISA=") + forced +
                  " is not an ISA this build and CPU can run (runnable: " + known + ")";
    return nullptr;
  }
  return table_for(runnable_isas().back(), cpu());
}

std::atomic<const KernelTable*>& active() {
  static std::atomic<const KernelTable*> table{initial_table()};
  return table;
}

}  // namespace

std::vector<std::string> runnable_isas() {
  std::vector<std::string> isas{"scalar"};
  for (const char* name : {"neon", "avx2", "avx512"}) {
    if (table_for(name, cpu()) != nullptr) isas.emplace_back(name);
  }
  return isas;
}

const KernelTable& active_kernels() {
  const KernelTable* t = active().load(std::memory_order_acquire);
  return t != nullptr ? *t : scalar_kernels();
}

std::string select_isa(const std::string& name) {
  const KernelTable* t = table_for(name, cpu());
  if (t == nullptr) {
    std::string known;
    for (const std::string& isa : runnable_isas()) known += (known.empty() ? "" : ", ") + isa;
    return "ISA '" + name + "' is not available on this machine (runnable: " + known + ")";
  }
  active().store(t, std::memory_order_release);
  return "";
}

const std::string& isa_env_error() {
  active();  // make sure the env override has been looked at
  return env_error();
}

}  // namespace simd_optim
