// Constant folding and simplification: a pure IR -> IR pass.
//
//  - `true`/`false` terms of `and`/`or` absorbed; one term unwrapped (nested
//    chains are flatten's: run it first to fold across them);
//  - `not` of a constant folded, double `not` removed;
//  - empty pattern sets are false; an empty `starts`/`ends`/`contains`
//    pattern, or an empty `under` path, is true;
//  - rank sets of one `and` intersected, of one `or` united.
// The result matches exactly the tensors the input matches.
//
// Contract (tests/engine/passes/rewrite_test.cpp):
//  - order: the terms that stay keep their relative order, except that the
//    combined rank set goes first (with the first rank test's span);
//  - an `and`/`or` left with no term is its neutral constant (`and`: true,
//    `or`: false), with one term that term;
//  - `== ""` and empty regexes are left alone (an empty name, RE2's
//    semantics); the input is not modified.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate fold(const Predicate& predicate);

// True when the predicate is the constant `value` (after folding).
bool is_constant(const Predicate& predicate, bool value);

}  // namespace taxon
