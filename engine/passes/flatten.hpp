// Flattening: a pure IR -> IR pass.
//
//  - an `and` inside an `and` (an `or` inside an `or`) gives its terms to its
//    parent; an `and`/`or` of one term is that term;
//  - under an `or`, tests of one field with one operator become one test of a
//    set: `name ends "a" or name ends "b"` is `name ends {"a", "b"}` (so are
//    dtype, module type and stage sets).
// The result matches exactly the tensors the input matches.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate flatten(const Predicate& predicate);

}  // namespace taxon
