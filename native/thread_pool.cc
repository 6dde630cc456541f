#include "thread_pool.h"

#include <algorithm>
#include <cstdlib>

namespace simd_optim {

ThreadPool& ThreadPool::instance() {
  static ThreadPool* pool = new ThreadPool();  // intentionally leaked, see header
  return *pool;
}

std::size_t default_threads() {
  static const std::size_t threads = [] {
    const char* env = std::getenv("SIMD_OPTIM_THREADS");
    const long n = env != nullptr ? std::strtol(env, nullptr, 10) : 0;
    return n > 0 ? static_cast<std::size_t>(n) : ThreadPool::hardware_threads();
  }();
  return threads;
}

std::size_t parts_for(double threads, std::size_t elements) {
  const std::size_t asked = threads >= 1 && threads <= 1024 ? static_cast<std::size_t>(threads) : default_threads();
  return std::max<std::size_t>(1, std::min(asked, elements / kMinElementsPerThread));
}

std::size_t ThreadPool::hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void ThreadPool::ensure_workers(std::size_t count) {
  while (workers_.size() < count) {
    const std::size_t index = workers_.size() + 1;  // part handled by this worker
    workers_.emplace_back([this, index] { worker_loop(index); });
    workers_.back().detach();
  }
}

void ThreadPool::worker_loop(std::size_t index) {
  std::size_t seen = 0;
  for (;;) {
    void (*task)(void*, std::size_t);
    void* context;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_ != seen && index < parts_; });
      seen = generation_;
      task = task_;
      context = context_;
    }
    task(context, index);
    std::lock_guard<std::mutex> lock(mutex_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::run(std::size_t parts, void (*task)(void*, std::size_t), void* context) {
  std::unique_lock<std::mutex> exclusive(run_mutex_, std::try_to_lock);
  if (parts <= 1 || !exclusive.owns_lock()) {
    for (std::size_t part = 0; part < parts; ++part) task(context, part);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ensure_workers(parts - 1);
    task_ = task;
    context_ = context;
    parts_ = parts;
    pending_ = parts - 1;
    ++generation_;
  }
  wake_.notify_all();
  task(context, 0);
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return pending_ == 0; });
  parts_ = 0;
}

}  // namespace simd_optim
