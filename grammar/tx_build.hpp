// Parse tree (PEGTL) -> syntax tree. Internal to the parser.
#pragma once

#include <tao/pegtl/contrib/parse_tree.hpp>

#include "engine/diagnostic.hpp"
#include "grammar/tx_ast.hpp"

namespace taxon::tx {

Statement build_statement(const tao::pegtl::parse_tree::node& node, const SourceRef& source);

// "..." -> its text, with \" \\ \n \t resolved.
std::string unescape_string(std::string_view quoted);

}  // namespace taxon::tx
