// Parses taxon language source (.tx) into the syntax tree, reporting every
// syntax error it finds (code T0102..T0104), each with a caret and a hint.
#pragma once

#include "engine/diagnostic.hpp"
#include "grammar/tx_ast.hpp"

namespace taxon::tx {

File parse(const SourceRef& source, Diagnostics& diagnostics);

}  // namespace taxon::tx
