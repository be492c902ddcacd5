// Source locations shared by every front end and every diagnostic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace taxon {

// A rule file's text, kept alive for as long as diagnostics may point into it.
struct SourceFile {
  std::string path;  // as the user named it; used verbatim in diagnostics
  std::string text;

  // The 1-based line `line` without its newline; empty when out of range.
  std::string_view line_text(uint32_t line) const;
};

using SourceRef = std::shared_ptr<const SourceFile>;

// 1-based line and column; line 0 means "no position in this file" (the
// diagnostic is about the file as a whole, or about an input with no text).
struct SourceSpan {
  SourceRef file;
  uint32_t line = 0;
  uint32_t col = 0;
  uint32_t length = 1;  // columns underlined by the caret line

  bool has_position() const { return file && line > 0; }
  std::string_view path() const { return file ? std::string_view(file->path) : std::string_view(); }
};

}  // namespace taxon
