// The optimizer: every rule of a program through the IR -> IR passes, in
// order: flatten, fold, flatten (what folding opened up), dedupe, order by
// cost. Literal tries, regex sets and module-type memos are built from the
// result by the compiled evaluator (engine/compiled.hpp).
//
// Contract of optimize(Program) (tests/engine/passes/rewrite_test.cpp): the
// result has the same selections and groups, as many and in the same order,
// with the same names, universes, freeze flags, options and spans, and every
// other field of the program as it was; only each rule's predicate is
// rewritten (a rule folded to `false` stays, in its place). evaluate() relies
// on it (engine/evaluate.cpp): it runs optimized rule i and reports it as
// rule i of the program as written, whose predicate, untouched, is where the
// captures of computed options are read.
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate optimize(const Predicate& predicate);
Program optimize(const Program& program);

}  // namespace taxon
