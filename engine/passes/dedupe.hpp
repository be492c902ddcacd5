// Dedupe: a pure IR -> IR pass. A term of an `and`/`or` equal to an earlier
// one (predicate_key) goes, and so does a repeated member of a set. Sharing
// equal sub-predicates across rules is the compiled evaluator's: it computes
// each distinct one once (engine/compiled.hpp).
//
// Contract (tests/engine/passes/rewrite_test.cpp):
//  - the first of equal terms (and of equal set members) stays, in its
//    place and with its span; the others keep their relative order;
//  - terms are compared after their own insides are deduplicated, so
//    `and(or(x, x), or(x))` is `and(or(x))`;
//  - nothing is unwrapped: an `and`/`or` left with one term stays one (the
//    optimizer runs flatten before dedupe, not after); the input is not
//    modified.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate dedupe(const Predicate& predicate);

}  // namespace taxon
