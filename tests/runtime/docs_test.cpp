// The examples in docs/language.md parse, are canonically formatted, and
// evaluate without errors on the dump each names in its first line.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/evaluate.hpp"
#include "grammar/tx_lower.hpp"
#include "grammar/tx_parser.hpp"
#include "grammar/tx_print.hpp"
#include "runtime/materialize.hpp"
#include "runtime/checkpoint.hpp"
#include "runtime/model_dump.hpp"

using namespace taxon;

TEST_CASE("every example in docs/language.md parses - is formatted - and evaluates") {
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

TEST_CASE("every plan example in docs/actions.md runs and produces the target's shapes") {
  std::string root = TAXON_SOURCE_DIR;
  std::ifstream in(root + "/docs/actions.md");
  std::ostringstream text;
  text << in.rdbuf();
  std::string doc = text.str();
  std::size_t examples = 0, at = 0;
  while ((at = doc.find("```tx\n", at)) != std::string::npos) {
    std::size_t begin = at + 6, end = doc.find("```\n", begin);
    std::string example = doc.substr(begin, end - begin);
    at = end;
    ++examples;
    CAPTURE(example);
    REQUIRE(example.rfind("# apply: ", 0) == 0);
    std::istringstream words(example.substr(9, example.find('\n') - 9));
    std::string checkpoint, flag, target_path;
    words >> checkpoint >> flag >> target_path;

    auto source = std::make_shared<SourceFile>(SourceFile{"docs/actions.md", example});
    Diagnostics diagnostics;
    tx::File file = tx::parse(source, diagnostics);
    CHECK(tx::print_file(file) == example);
    tx::Lowered lowered = tx::lower(file, diagnostics);
    REQUIRE(diagnostics.items().empty());
    REQUIRE(lowered.checkpoint_plans.size() == 1);

    Checkpoint ckpt = read_checkpoint(root + "/" + checkpoint);
    TensorTable input = checkpoint_table(ckpt);
    std::optional<TensorTable> target;
    if (!target_path.empty())
      target = target_path.ends_with(".json") ? read_model_dump(root + "/" + target_path)
                                              : checkpoint_table(read_checkpoint(root + "/" + target_path));
    PlanResult result = run_plan(lowered.checkpoint_plans[0], input, target ? &*target : nullptr);
    REQUIRE_FALSE(result.diagnostics.has_errors());
    CHECK_FALSE(result.verdict.load_fails);
    std::size_t acted = 0;
    Materializer materializer(result.keys, [&](std::size_t row) -> const TensorData& { return ckpt.tensors[row].data; });
    std::map<std::string, std::vector<int64_t>> target_shapes;
    if (target)
      for (const auto& record : target->tensors) target_shapes[std::string(record.name)] = record.shape.to_vector();
    for (const auto& key : result.keys) {
      auto data = materializer.make(key);
      acted += key.recipe->op != Recipe::Op::input;
      CHECK(data->shape == key.recipe->shape);
      if (target) CHECK(data->shape == target_shapes.at(key.name));
    }
    CHECK(acted > 0);
  }
  CHECK(examples == 12);
}
