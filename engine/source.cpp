#include "engine/source.hpp"

namespace taxon {

std::string_view SourceFile::line_text(uint32_t line) const {
  if (line == 0) return {};
  std::string_view rest(text);
  for (uint32_t current = 1; current < line; ++current) {
    auto newline = rest.find('\n');
    if (newline == std::string_view::npos) return {};
    rest.remove_prefix(newline + 1);
  }
  auto end = rest.find('\n');
  auto found = rest.substr(0, end);
  if (!found.empty() && found.back() == '\r') found.remove_suffix(1);
  return found;
}

}  // namespace taxon
