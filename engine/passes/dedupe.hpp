// Dedupe: a pure IR -> IR pass. A term of an `and`/`or` equal to an earlier
// one (predicate_key) goes, and so does a repeated member of a set. Sharing
// equal sub-predicates across rules is the compiled evaluator's: it computes
// each distinct one once (engine/compiled.hpp).
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate dedupe(const Predicate& predicate);

}  // namespace taxon
