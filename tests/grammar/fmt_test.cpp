// `taxon fmt` is idempotent and keeps meaning and comments, on every .tx
// file in the examples and tests.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"

using namespace taxon;
namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t count_comments(const std::string& formatted) {
  Diagnostics ignored;
  return tx::parse(std::make_shared<SourceFile>(SourceFile{"x.tx", formatted}), ignored).comments.size();
}

}  // namespace

TEST_CASE("fmt is idempotent and loses no comment on every .tx file that parses") {
  std::vector<fs::path> files;
  for (const char* root : {"examples", "tests/data/rules/tx", "stdlib"}) {
    fs::path directory = fs::path(TAXON_SOURCE_DIR) / root;
    if (!fs::exists(directory)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(directory))
      if (entry.path().extension() == ".tx") files.push_back(entry.path());
  }
  REQUIRE(files.size() >= 8);
  std::size_t formatted_files = 0;
  for (const auto& path : files) {
    CAPTURE(path.string());
    auto source = std::make_shared<SourceFile>(SourceFile{path.string(), read(path)});
    Diagnostics diagnostics;
    tx::File file = tx::parse(source, diagnostics);
    if (diagnostics.has_errors()) continue;  // the purpose-built syntax errors
    std::string once = tx::print_file(file);
    Diagnostics again_diagnostics;
    tx::File again = tx::parse(std::make_shared<SourceFile>(SourceFile{path.string(), once}), again_diagnostics);
    CHECK_FALSE(again_diagnostics.has_errors());
    CHECK(tx::print_file(again) == once);
    CHECK(again.statements.size() == file.statements.size());
    CHECK(count_comments(once) == file.comments.size());
    ++formatted_files;
  }
  CHECK(formatted_files >= 8);
}

TEST_CASE("formatting keeps every statement's meaning") {
  auto source = std::make_shared<SourceFile>(SourceFile{"m.tx", read(fs::path(TAXON_SOURCE_DIR) / "tests/data/rules/tx/messy.tx")});
  Diagnostics diagnostics;
  tx::File original = tx::parse(source, diagnostics);
  REQUIRE_FALSE(diagnostics.has_errors());
  tx::File formatted = tx::parse(std::make_shared<SourceFile>(SourceFile{"m.tx", tx::print_file(original)}), diagnostics);
  REQUIRE(formatted.statements.size() == original.statements.size());
  // Statement by statement, the printed forms agree (printing is a function of the tree).
  for (std::size_t i = 0; i < original.statements.size(); ++i) {
    tx::File one{source, {original.statements[i]}, {}};
    tx::File two{source, {formatted.statements[i]}, {}};
    CHECK(tx::print_file(one) == tx::print_file(two));
  }
}
