#include "engine/cpus.hpp"

#include <thread>

#include <sched.h>

namespace taxon {

std::size_t usable_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) == 0) return static_cast<std::size_t>(CPU_COUNT(&allowed));
  return std::thread::hardware_concurrency();
}

}  // namespace taxon
