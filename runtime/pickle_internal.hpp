// Between the unpickler (pickle.cpp) and the value model (pickle_value.cpp): the check of a finished value.
#pragma once

#include <cstddef>
#include <unordered_map>

#include "runtime/pickle.hpp"

namespace taxon::detail {

enum class PickleShape { fine, cycle, too_deep };

// The finished value's real depth: the unpickler sees a container's depth only when an item goes
// in, and through the memo a container can be filled after it was put inside another. Depth-first,
// without recursion, each container once however many hold it (so a shared subtree costs
// nothing more); `heights` gets every non-empty container reached and its height (0 while it is
// still on the path). A way back up the path (omegaconf's nodes point at their parent) becomes a
// PyBackRef, so the result owns no cycle; the children are visited in the order a pickle writes
// them, so a writer meets each PyBackRef after its target. A tuple cannot be written before its
// items, so a tuple on such a loop is refused. A path kMaxPickleDepth long is already too deep.
PickleShape measure_pickle(const PyRef& root, std::unordered_map<const PyValue*, std::size_t>& heights);

}  // namespace taxon::detail
