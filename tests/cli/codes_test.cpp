// The diagnostic codes' registry (engine/diagnostic_codes.hpp) and docs/diagnostics.md agree:
// every registered code has its row there, with the same severity and title, in the registry's
// order; the docs name no code the registry lacks; the code has a constant that something uses;
// and every code is shown by at least one CLI golden file: no code without a test of its rendering.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include <re2/re2.h>

#include "engine/diagnostic_codes.hpp"

namespace fs = std::filesystem;

namespace {

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string without_backticks(std::string text) {
  text.erase(std::remove(text.begin(), text.end(), '`'), text.end());
  return text;
}

// One row of docs/diagnostics.md's table: | <a id="T0201"></a>T0201 | error | title | details |
struct DocRow {
  std::string anchor, code, severity, title;
};

std::vector<DocRow> documented_rows() {
  std::string doc = read(fs::path(TAXON_SOURCE_DIR) / "docs/diagnostics.md");
  std::vector<DocRow> rows;
  static const RE2 row(R"re((?m)^\| <a id="([^"]*)"></a>(T\d{4}) \| ([^|]+) \| ([^|]+) \|.*$)re");
  re2::StringPiece rest(doc);
  DocRow found;
  while (RE2::FindAndConsume(&rest, row, &found.anchor, &found.code, &found.severity, &found.title)) rows.push_back(found);
  return rows;
}

// Every T followed by four digits in the text.
std::set<std::string> codes_named_in(const std::string& text) {
  std::set<std::string> codes;
  static const RE2 code(R"(\b(T\d{4})\b)");
  re2::StringPiece rest(text);
  std::string found;
  while (RE2::FindAndConsume(&rest, code, &found)) codes.insert(found);
  return codes;
}

}  // namespace

TEST_CASE("docs/diagnostics.md documents every registered code with its severity and title") {
  std::vector<DocRow> rows = documented_rows();
  std::map<std::string, DocRow> by_code;
  for (const auto& row : rows) {
    CAPTURE(row.code);
    CHECK_MESSAGE(by_code.emplace(row.code, row).second, "documented twice");
    CHECK_MESSAGE(row.anchor == row.code, "the row's anchor is its code (docs/diagnostics.md#" << row.code << ")");
  }
  for (const auto& entry : taxon::kDiagnosticCodes) {
    std::string id(entry.id);
    CAPTURE(id);
    auto found = by_code.find(id);
    REQUIRE_MESSAGE(found != by_code.end(), "a registered code docs/diagnostics.md does not document");
    // A severity the context may raise is written after the registered one: "warning (lint: error in overlap mode)".
    std::string severity(taxon::severity_name(entry.severity));
    const std::string& documented = found->second.severity;
    CHECK_MESSAGE((documented == severity || documented.rfind(severity + " (", 0) == 0),
                  "documented as '" << documented << "', registered as " << severity);
    CHECK(without_backticks(found->second.title) == std::string(entry.title));
    CHECK(entry.doc == "docs/diagnostics.md#" + id);
  }
  std::vector<std::string> order, registered;
  for (const auto& row : rows) order.push_back(row.code);
  for (const auto& entry : taxon::kDiagnosticCodes) registered.emplace_back(entry.id);
  CHECK_MESSAGE(order == registered, "the table lists the codes in the registry's order");
}

TEST_CASE("no code named in the docs is missing from the registry") {
  fs::path root(TAXON_SOURCE_DIR);
  std::vector<fs::path> documents = {root / "README.md"};
  for (const auto& entry : fs::directory_iterator(root / "docs"))
    if (entry.path().extension() == ".md") documents.push_back(entry.path());
  std::size_t named = 0;
  for (const auto& document : documents)
    for (const auto& code : codes_named_in(read(document))) {
      ++named;
      CAPTURE(document.string());
      CAPTURE(code);
      CHECK(taxon::find_code(code) != nullptr);
    }
  CHECK(named >= std::size(taxon::kDiagnosticCodes));
}

TEST_CASE("every registered code is used by the code") {
  fs::path root(TAXON_SOURCE_DIR);
  std::string sources;
  for (const char* folder : {"engine", "grammar", "runtime", "tools", "api"}) {
    if (!fs::exists(root / folder)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / folder)) {
      auto extension = entry.path().extension();
      if ((extension == ".cpp" || extension == ".hpp") && entry.path().filename() != "diagnostic_codes.hpp")
        sources += read(entry.path());
    }
  }
  for (const auto& entry : taxon::kDiagnosticCodes) {
    std::string constant = "code::" + std::string(entry.name);
    CAPTURE(constant);
    RE2 use("\\b" + RE2::QuoteMeta(constant) + "\\b");
    CHECK(RE2::PartialMatch(sources, use));
  }
}

TEST_CASE("every documented diagnostic code appears in a golden file") {
  fs::path root(TAXON_SOURCE_DIR);
  std::vector<DocRow> rows = documented_rows();
  REQUIRE(rows.size() >= 40);

  std::string goldens;
  for (const auto& entry : fs::recursive_directory_iterator(root / "tests/golden"))
    if (entry.path().extension() == ".golden") goldens += read(entry.path());
  for (const auto& row : rows) {
    CAPTURE(row.code);
    bool shown = goldens.find("[" + row.code + "]") != std::string::npos ||
                 goldens.find("\"" + row.code + "\"") != std::string::npos;
    CHECK(shown);
  }
}

// CTest runs each doctest case by name through --test-case, whose filter splits at commas, and
// CMake cuts test names at semicolons: a case named with either would silently run nothing.
TEST_CASE("no test case name holds a comma or a semicolon") {
  fs::path root(TAXON_SOURCE_DIR);
  static const RE2 test_case(R"re(TEST_CASE\("((?:[^"\\]|\\.)*)"\))re");
  std::size_t cases = 0;
  for (const auto& folder : {root / "tests", root / "fuzz"})
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.path().extension() != ".cpp") continue;
      std::string text = read(entry.path());
      re2::StringPiece rest(text);
      std::string name;
      while (RE2::FindAndConsume(&rest, test_case, &name)) {
        ++cases;
        CAPTURE(entry.path().string());
        CAPTURE(name);
        CHECK(name.find_first_of(",;") == std::string::npos);
      }
    }
  CHECK(cases > 50);
}
