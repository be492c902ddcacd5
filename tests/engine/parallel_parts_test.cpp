// run_parts: every part runs once, the first failing part's exception (by number) is rethrown
// only after every part has ended.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/parallel_parts.hpp"

TEST_CASE("run_parts runs each part once - part 0 on the calling thread") {
  std::vector<std::atomic<int>> runs(5);
  std::thread::id part_zero;
  taxon::run_parts(runs.size(), [&](std::size_t part) {
    ++runs[part];
    if (part == 0) part_zero = std::this_thread::get_id();
  });
  for (const auto& count : runs) CHECK(count == 1);
  CHECK(part_zero == std::this_thread::get_id());
  taxon::run_parts(0, [](std::size_t) { FAIL("no part to run"); });
}

TEST_CASE("run_parts rethrows the first failing part's exception after every part ended") {
  std::atomic<int> ended{0};
  try {
    taxon::run_parts(4, [&](std::size_t part) {
      if (part == 3) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // ends last
      ++ended;
      if (part == 1 || part == 3) throw std::runtime_error("part " + std::to_string(part));
    });
    FAIL("no exception");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()) == "part 1");
    CHECK(ended == 4);
  }
}
