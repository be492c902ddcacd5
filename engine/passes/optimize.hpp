// The optimizer: every rule of a program through the IR -> IR passes, in
// order: flatten, fold, flatten (what folding opened up), dedupe, order by
// cost. Literal tries, regex sets and module-type memos are built from the
// result by the compiled evaluator (engine/compiled.hpp).
#pragma once

#include "engine/ir.hpp"

namespace taxon {

Predicate optimize(const Predicate& predicate);
Program optimize(const Program& program);

}  // namespace taxon
