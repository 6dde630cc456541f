// A small persistent pool of worker threads for splitting one large step into
// chunks. Elementwise kernels give the same bits for any split, so the pool
// changes speed only, never results.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace simd_optim {

// The threads a call uses when not told: SIMD_OPTIM_THREADS, else the hardware's.
std::size_t default_threads();

// Below this many elements per thread, waking threads costs more than it saves.
constexpr std::size_t kMinElementsPerThread = std::size_t{1} << 16;

// The parts to cut `elements` into for a call that asks for `threads` (1 to
// 1024; anything else means the default): at least one, and at most one per
// kMinElementsPerThread elements.
std::size_t parts_for(double threads, std::size_t elements);

class ThreadPool {
 public:
  // The process-wide pool. Never destroyed: its threads just stay parked
  // when the process exits, which avoids static-destructor races with Node.
  static ThreadPool& instance();

  // Runs task(context, part) for part in [0, parts), the calling thread
  // taking part 0, and returns when all are done. If another thread is using
  // the pool, runs every part on the calling thread instead (same results).
  void run(std::size_t parts, void (*task)(void* context, std::size_t part), void* context);

  // Threads the machine offers (at least 1).
  static std::size_t hardware_threads();

 private:
  ThreadPool() = default;
  void ensure_workers(std::size_t count);
  void worker_loop(std::size_t index);

  std::mutex run_mutex_;  // one run at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  std::size_t generation_ = 0;
  std::size_t parts_ = 0;
  std::size_t pending_ = 0;
  void (*task_)(void*, std::size_t) = nullptr;
  void* context_ = nullptr;
};

}  // namespace simd_optim
