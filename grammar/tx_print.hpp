// Prints the taxon language canonically: what `taxon fmt` writes. Printing a
// parsed file and parsing the result again gives the same tree; printing it
// once more gives the same text (fmt is idempotent).
#pragma once

#include <string>

#include "grammar/tx_ast.hpp"

namespace taxon::tx {

inline constexpr std::size_t kLineWidth = 100;

std::string print_file(const File& file);
std::string print_expr(const Expr& expr);
std::string print_value(const Value& value);
std::string print_literal(const Literal& literal);
std::string print_name(const std::string& name);  // a bare word when it can be one, else "quoted"

}  // namespace taxon::tx
