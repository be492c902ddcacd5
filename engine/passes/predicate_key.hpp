// A canonical text for a predicate: equal keys, equal predicates (spans and
// the order of a set's members ignored). What dedupe and the compiled
// evaluator's node sharing compare.
#pragma once

#include <string>

#include "engine/ir.hpp"

namespace taxon {

std::string predicate_key(const Predicate& predicate);

}  // namespace taxon
