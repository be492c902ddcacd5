#include <algorithm>
#include <random>

#include <doctest/doctest.h>

#include "engine/diagnostic.hpp"
#include "engine/dtype.hpp"
#include "engine/internal_error.hpp"
#include "runtime/input_error.hpp"

using namespace taxon;

TEST_CASE("a diagnostic renders header - source line - caret and hint") {
  auto file = std::make_shared<SourceFile>(SourceFile{"rules.yaml", "FILTER:\n  TYPE: nmae\n  PATTERNS: [x]\n"});
  Diagnostic d{"T0201", Severity::error, SourceSpan{file, 2, 9, 4}, "unknown filter TYPE 'nmae'", "did you mean 'name'?"};
  CHECK(render_text(d) ==
        "error[T0201]: rules.yaml:2:9: unknown filter TYPE 'nmae'\n"
        "2 |   TYPE: nmae\n"
        "  |         ^^^^\n"
        "  = hint: did you mean 'name'?\n");
}

TEST_CASE("the caret never runs past the end of the line - and tabs do not shift it") {
  auto file = std::make_shared<SourceFile>(SourceFile{"r.yaml", "\tab\r\n"});
  Diagnostic d{"T0101", Severity::warning, SourceSpan{file, 1, 2, 10}, "m", ""};
  CHECK(render_text(d) == "warning[T0101]: r.yaml:1:2: m\n1 |  ab\n  |  ^^\n");
}

TEST_CASE("a diagnostic without a position has no source line") {
  auto file = std::make_shared<SourceFile>(SourceFile{"r.yaml", ""});
  Diagnostic d{"T0206", Severity::error, SourceSpan{file, 0, 0, 1}, "empty", "write rules"};
  CHECK(render_text(d) == "error[T0206]: r.yaml: empty\n = hint: write rules\n");
}

TEST_CASE("lists fold after the limit") {
  std::vector<Diagnostic> many(7, Diagnostic{"T0501", Severity::warning, {}, "m", ""});
  std::string text = render_text(many, 5);
  CHECK(text.find("and 2 more (raise --max-errors to see them)\n") != std::string::npos);
}

TEST_CASE("closest_match suggests a near spelling and nothing for a far one") {
  std::vector<std::string> candidates{"name", "dimension", "layer_type", "and", "or"};
  CHECK(closest_match("nmae", candidates) == "name");
  CHECK(closest_match("layertype", candidates) == "layer_type");
  CHECK(closest_match("Dimension", candidates) == "dimension");
  CHECK(closest_match("completely_else", candidates).empty());
}

// A full-matrix Levenshtein distance with ASCII case folded, written apart from the engine's.
static std::size_t reference_distance(const std::string& a, const std::string& b) {
  auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j)
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1)});
  return d[a.size()][b.size()];
}

TEST_CASE("edit distances and the closest match agree with a full-matrix Levenshtein") {
  // Random words over a small alphabet (both cases and a non-ASCII byte), so that near misses are common.
  const std::string alphabet = "abAB_\xc3";
  std::mt19937 random(20261201);
  auto word = [&] {
    std::string out(random() % 9, ' ');
    for (char& c : out) c = alphabet[random() % alphabet.size()];
    return out;
  };
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> candidates(1 + random() % 6);
    for (auto& candidate : candidates) candidate = word();
    std::string probe = word();
    std::string expected;
    std::size_t best = std::max<std::size_t>(2, probe.size() / 3) + 1;
    for (const auto& candidate : candidates) {
      std::size_t distance = reference_distance(probe, candidate);
      CHECK(edit_distance(probe, candidate) == distance);
      if (distance < best) best = distance, expected = candidate;
    }
    CHECK(closest_match(probe, candidates) == expected);
  }
}

TEST_CASE("a long line is shown as a window around the caret") {
  std::string line = std::string(300, 'a') + "BAD" + std::string(300, 'b');
  auto file = std::make_shared<SourceFile>(SourceFile{"r.yaml", line + "\n"});
  Diagnostic d{"T0201", Severity::error, SourceSpan{file, 1, 301, 3}, "m", ""};
  std::string text = render_text(d);
  CHECK(text == "error[T0201]: r.yaml:1:301: m\n1 | ..." + std::string(25, 'a') + "BAD" + std::string(72, 'b') +
                    "...\n  | " + std::string(28, ' ') + "^^^\n");
}

TEST_CASE("codes come from the registry: a code outside it is a bug in taxon") {
  CHECK(describe_code(code::group_overlap) == "tensors matched by several groups");
  CHECK(find_code("T0610")->name == "actions_library");
  CHECK(find_code("T0201")->doc == "docs/diagnostics.md#T0201");
  Diagnostics diagnostics;
  diagnostics.warning(code::unknown_key, {}, "fine");
  CHECK(diagnostics.items().size() == 1);
  CHECK_THROWS_AS(diagnostics.error("T9999", {}, "not registered"), InternalError);
  CHECK_THROWS_AS(InputError("T0000", "not registered"), InternalError);
  CHECK(InputError(code::actions_library, "m").code() == "T0610");
  try {
    diagnostics.note("X", {}, "m");
    FAIL("an unregistered code went through");
  } catch (const InternalError& error) {
    std::string what = error.what();
    CHECK(what.find("'X'") != std::string::npos);
    CHECK(what.ends_with(" with the command that failed"));
  }
}

TEST_CASE("the dtype table: spellings - sizes - codes - storage classes") {
  CHECK(dtype_from_spelling("half") == DType::float16);
  CHECK(dtype_from_spelling("BF16") == DType::bfloat16);
  CHECK(dtype_from_spelling("long") == DType::int64);
  CHECK(!dtype_from_spelling("float33"));
  CHECK(dtype_size(DType::complex128) == 16);
  CHECK(!safetensors_code(DType::complex128));
  CHECK(dtype_from_storage_class("BFloat16Storage") == DType::bfloat16);
  CHECK(in_torch_1_13(DType::complex64));
  CHECK(!in_torch_1_13(DType::float8_e4m3fn));
  CHECK(!computed_by_libtorch(DType::complex64));
  CHECK(computed_by_libtorch(DType::bool_));
  std::vector<std::string> spellings = dtype_spellings();
  CHECK(spellings.size() == 17 + 9 + 16);
  CHECK(spellings.front() == "float64");
  CHECK(spellings.back() == "BOOL");
}
