// Chooses the kernel table for this CPU, once, and lets tests force another.
#pragma once

#include <string>
#include <vector>

#include "kernels/kernels.h"

namespace simd_optim {

// Names of the ISAs this build has and this CPU (and OS) can run, best last.
std::vector<std::string> runnable_isas();

// The table in use. Chosen on first use: SIMD_OPTIM_ISA if set, else the best
// runnable ISA.
const KernelTable& active_kernels();

// Switches the table. Returns an empty string on success, else why not.
std::string select_isa(const std::string& name);

// Why the env override was refused, if it was (empty otherwise).
const std::string& isa_env_error();

}  // namespace simd_optim
