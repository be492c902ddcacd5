// Constant folding and simplification: a pure IR -> IR pass.
//
//  - `true`/`false` terms of `and`/`or` absorbed; one term unwrapped (nested
//    chains are flatten's: run it first to fold across them);
//  - `not` of a constant folded, double `not` removed;
//  - empty pattern sets are false; an empty `starts`/`ends`/`contains`
//    pattern, or an empty `under` path, is true;
//  - rank sets of one `and` intersected, of one `or` united.
// The result matches exactly the tensors the input matches.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate fold(const Predicate& predicate);

// True when the predicate is the constant `value` (after folding).
bool is_constant(const Predicate& predicate, bool value);

}  // namespace taxon
