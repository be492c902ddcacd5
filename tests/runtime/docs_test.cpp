// The examples in docs/language.md parse, are canonically formatted, and
// evaluate without errors on the dump each names in its first line.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

TEST_CASE("every example in docs/language.md parses, is formatted, and evaluates") {
  std::string root = TAXON_SOURCE_DIR;
  std::ifstream in(root + "/docs/language.md");
  std::ostringstream text;
  text << in.rdbuf();
  std::string doc = text.str();

  std::size_t examples = 0, at = 0;
  while ((at = doc.find("```tx\n", at)) != std::string::npos) {
    std::size_t begin = at + 6, end = doc.find("```\n", begin);
    REQUIRE(end != std::string::npos);
    std::string example = doc.substr(begin, end - begin);
    at = end;
    ++examples;
    CAPTURE(example);
    REQUIRE(example.rfind("# eval: ", 0) == 0);
    std::string dump = root + "/" + example.substr(8, example.find('\n') - 8);

    auto source = std::make_shared<SourceFile>(SourceFile{"docs/language.md", example});
    Diagnostics diagnostics;
    tx::File file = tx::parse(source, diagnostics);
    CHECK(tx::print_file(file) == example);
    tx::Lowered lowered = tx::lower(file, diagnostics);
    CHECK(diagnostics.items().empty());
    EvalResult result = evaluate(lowered.program, read_model_dump(dump));
    CHECK_FALSE(result.diagnostics.has_errors());
    for (const auto& selection : result.selections) {
      CAPTURE(selection.name);
      CHECK_FALSE(selection.tensors.empty());  // every example selects something real
    }
  }
  CHECK(examples >= 5);
}
