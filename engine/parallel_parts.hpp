// Work split into parts that run at once: the parts of an aggregate's members, the shards that
// `apply --jobs N` writes.
#pragma once

#include <cstddef>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace taxon {

// Calls work(part) for each part in [0, parts): part 0 on the calling thread, each other part on
// a thread of its own, or on the calling thread where no thread can be started (a process at its
// limit, RLIMIT_NPROC). Returns when every part has ended; then rethrows the exception of the
// first part (by number) that threw one.
template <typename Work>
void run_parts(std::size_t parts, const Work& work) {
  std::vector<std::exception_ptr> failures(parts);
  auto run = [&](std::size_t part) {
    try {
      work(part);
    } catch (...) {
      failures[part] = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (std::size_t part = 1; part < parts; ++part) {
    try {
      helpers.emplace_back(run, part);
    } catch (const std::system_error&) {
      run(part);
    }
  }
  if (parts > 0) run(0);
  for (auto& helper : helpers) helper.join();
  for (const auto& failure : failures)
    if (failure) std::rethrow_exception(failure);
}

}  // namespace taxon
