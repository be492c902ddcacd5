// Every diagnostic code docs/diagnostics.md documents is shown by at least
// one CLI golden file: no code without a test of its rendering.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {
std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("every documented diagnostic code appears in a golden file") {
  fs::path root(TAXON_SOURCE_DIR);
  std::string doc = read(root / "docs/diagnostics.md");
  std::set<std::string> documented;
  std::regex row(R"(\| (T\d{4}) \|)");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1]);
  REQUIRE(documented.size() >= 40);

  std::string goldens;
  for (const auto& entry : fs::recursive_directory_iterator(root / "tests/golden"))
    if (entry.path().extension() == ".golden") goldens += read(entry.path());
  for (const auto& code : documented) {
    CAPTURE(code);
    bool shown = goldens.find("[" + code + "]") != std::string::npos || goldens.find("\"" + code + "\"") != std::string::npos;
    CHECK(shown);
  }
}

// CTest runs each doctest case by name through --test-case, whose filter splits at commas, and
// CMake cuts test names at semicolons: a case named with either would silently run nothing.
TEST_CASE("no test case name holds a comma or a semicolon") {
  fs::path root(TAXON_SOURCE_DIR);
  std::regex test_case(R"re(TEST_CASE\("((?:[^"\\]|\\.)*)"\))re");
  std::size_t cases = 0;
  for (const auto& folder : {root / "tests", root / "fuzz"})
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.path().extension() != ".cpp") continue;
      std::string text = read(entry.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), test_case); it != std::sregex_iterator(); ++it) {
        ++cases;
        std::string name = (*it)[1];
        CAPTURE(entry.path().string());
        CAPTURE(name);
        CHECK(name.find_first_of(",;") == std::string::npos);
      }
    }
  CHECK(cases > 50);
}
