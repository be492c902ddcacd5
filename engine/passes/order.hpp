// Cheap predicates first: a pure IR -> IR pass. The terms of each `and`/`or`
// are sorted (stably) by an estimate of what one evaluation costs, so that
// the evaluator that walks rules tensor by tensor stops early on the cheap
// ones: a kind or rank test before a string comparison, a literal before a
// module-type lookup, any of them before a regex. Predicates have no side
// effects, so the order changes nothing but time. (Captures for computed
// options are read from the rules as written, not from this order.)
//
// Contract (tests/engine/passes/rewrite_test.cpp): only the order of the
// terms of each `and`/`or` changes, at every depth (under `not` too), and
// terms of equal cost keep their relative order; nothing is added, dropped or
// merged, a set's members keep their order, every node keeps its span; the
// input is not modified.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

// The estimated cost of evaluating `predicate` once for one tensor.
int evaluation_cost(const Predicate& predicate);

Predicate order_by_cost(const Predicate& predicate);

}  // namespace taxon
