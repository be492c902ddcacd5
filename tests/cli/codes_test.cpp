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
