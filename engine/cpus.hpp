// How many CPUs this process may run on: evaluation and the dump reader start threads by it.
#pragma once

#include <cstddef>

namespace taxon {

// The CPUs this process may run on: a Slurm task or a container may be given fewer than the
// machine has (std::thread::hardware_concurrency counts the machine's).
std::size_t usable_cpus();

}  // namespace taxon
