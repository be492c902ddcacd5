// Flattening: a pure IR -> IR pass.
//
//  - an `and` inside an `and` (an `or` inside an `or`) gives its terms to its
//    parent; an `and`/`or` of one term is that term;
//  - under an `or`, tests of one field with one operator become one test of a
//    set: `name ends "a" or name ends "b"` is `name ends {"a", "b"}` (so are
//    dtype, module type and stage sets).
// The result matches exactly the tensors the input matches.
//
// Contract (tests/engine/passes/rewrite_test.cpp):
//  - order: terms keep their relative order; a spliced `and`'s (`or`'s)
//    terms stand where it stood; a merged set stands where the first of its
//    tests stood, its members in the order written (repeats kept: dedupe
//    removes them);
//  - under an `and`, tests of one field are never merged (`name ends "a" and
//    name ends "b"` is not a set); an `and` inside an `or` (and the reverse)
//    stays nested, flattened inside;
//  - spans: every node kept keeps its own; a merged set takes the first
//    test's; the input is not modified.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate flatten(const Predicate& predicate);

}  // namespace taxon
