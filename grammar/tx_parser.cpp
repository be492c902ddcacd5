#include "grammar/tx_parser.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <fmt/format.h>
#include <tao/pegtl/contrib/parse_tree.hpp>

#include "grammar/tx_build.hpp"
#include "grammar/tx_grammar.hpp"

namespace taxon::tx {
namespace {

namespace pegtl = tao::pegtl;
using namespace peg;

constexpr std::size_t kMaxNesting = 100;  // parentheses, `not`s, lists, unary minus, powers

// State threaded through one statement's parse.
struct ParseState {
  std::size_t depth = 0;
  std::map<std::size_t, Comment>* comments = nullptr;  // by byte offset: backtracking may match one twice
  std::vector<bool> levels = {};  // per may_nest rule being matched: did it open a level?
};

// Rules whose every match opens a level (parentheses, lists, unary minus)...
template <typename Rule>
inline constexpr bool is_nesting = std::is_same_v<Rule, paren> || std::is_same_v<Rule, paren_expr> ||
                                   std::is_same_v<Rule, negate> || std::is_same_v<Rule, list_lit>;
// ...and rules whose match opens one only in a chain: `not not x`, `a ** b ** c` (right-recursive).
// Those are counted where each link starts, since the parse tree's control only sees stored rules.
template <typename Rule>
inline constexpr bool may_nest = is_nesting<Rule> || std::is_same_v<Rule, not_expr> || std::is_same_v<Rule, power>;

template <typename Rule>
struct control : pegtl::must_if<errors, pegtl::normal, false>::control<Rule> {
  using base = typename pegtl::must_if<errors, pegtl::normal, false>::template control<Rule>;

  template <typename Input, typename... States>
  static void start(const Input& in, ParseState& state, States&&... st) {
    if constexpr (may_nest<Rule>) {
      state.levels.push_back(opens_level(in));
      if (state.levels.back() && ++state.depth > kMaxNesting)
        throw pegtl::parse_error(fmt::format("nested more than {} levels deep|split the rule into `let` bindings", kMaxNesting), in);
    }
    base::start(in, state, st...);
  }
  template <typename Input, typename... States>
  static void success(const Input& in, ParseState& state, States&&... st) {
    leave(state);
    base::success(in, state, st...);
  }
  template <typename Input, typename... States>
  static void failure(const Input& in, ParseState& state, States&&... st) {
    leave(state);
    base::failure(in, state, st...);
  }

 private:
  static void leave(ParseState& state) {
    if constexpr (may_nest<Rule>) {
      if (state.levels.back()) --state.depth;
      state.levels.pop_back();
    }
  }
  template <typename Input>
  static bool opens_level(const Input& in) {
    if constexpr (std::is_same_v<Rule, not_expr>) {  // `not` and then a word boundary
      std::string_view rest(in.current(), in.size(0));
      return rest.starts_with("not") && (rest.size() == 3 || !(std::isalnum(static_cast<unsigned char>(rest[3])) || rest[3] == '_'));
    } else if constexpr (std::is_same_v<Rule, power>) {  // the right operand of `**`
      std::string_view before(in.begin(), static_cast<std::size_t>(in.current() - in.begin()));
      std::size_t end = before.find_last_not_of(" \t\r\n");
      return end != std::string_view::npos && end >= 1 && before.substr(end - 1, 2) == "**";
    } else {
      return true;
    }
  }
};

template <typename Rule>
struct action : pegtl::nothing<Rule> {};

template <>
struct action<comment> {
  template <typename Input, typename... States>
  static void apply(const Input& in, ParseState& state, States&&...) {
    auto position = in.position();
    Comment found;
    found.text = in.string();
    // A comment ends at "\n" or "\r\n"; carriage returns just before the end (an editor's "\r\r\n")
    // are not its text, or `taxon fmt` would drop one per run.
    while (!found.text.empty() && found.text.back() == '\r') found.text.pop_back();
    found.line = static_cast<uint32_t>(position.line);
    std::string_view before(in.begin() - (position.column - 1), position.column - 1);
    found.own_line = before.find_first_not_of(" \t") == std::string_view::npos;
    state.comments->emplace(position.byte, std::move(found));
  }
};

template <typename Rule>
using selector = pegtl::parse_tree::selector<
    Rule,
    pegtl::parse_tree::store_content::on<word, value_word, ref, binding_name, string_lit, regex_lit, number, wildcard, set_lit,
                                         shape_lit, field, test_op, test, flag, k_not, negate, op_pow, op_mul, op_div,
                                         op_add, op_sub, list_lit, option, options, stmt_import, stmt_mode, mode_value,
                                         stmt_match, stmt_stages, stage_entry, stmt_let, stmt_select, stmt_group,
                                         stmt_defaults, stmt_exclude, stmt_freeze, stmt_plan, k_root, item_from,
                                         item_text, item_predicate, item_rewrite, item_transform, item_surgery,
                                         surgery_others, surgery_outputs, item_skip, item_load, k_strip, k_prefix,
                                         k_drop, k_keep, k_rename, k_copy, k_renumber, k_resize, k_resample, k_transform, k_split,
                                         k_fuse, k_stack, k_unstack, k_mismatched, let_value, stmt_param, stmt_set,
                                         stmt_keep_frozen, import_with, aggregate, count_call, call, function_name>,
    pegtl::parse_tree::fold_one::on<not_expr, and_expr, or_expr, paren, expr, term, power, paren_expr>>;

constexpr std::array<std::string_view, 13> kStatementKeywords{"let",    "select", "group", "defaults", "exclude",
                                                              "freeze", "plan",   "import", "mode",   "match",
                                                              "stages", "set",    "param"};

bool starts_statement(std::string_view line) {
  for (auto keyword : kStatementKeywords) {
    if (line.starts_with(keyword)) {
      char next = line.size() > keyword.size() ? line[keyword.size()] : ' ';
      if (!std::isalnum(static_cast<unsigned char>(next)) && next != '_') return true;
    }
  }
  return line.starts_with("keep frozen in groups");  // `keep` alone starts a plan step
}

// The length of the token at `offset`, for the caret.
uint32_t token_length(std::string_view text, std::size_t offset) {
  if (offset >= text.size()) return 1;
  std::size_t end = offset;
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (is_word(text[end])) {
    while (end < text.size() && is_word(text[end])) ++end;
  } else {
    ++end;
  }
  return static_cast<uint32_t>(end - offset);
}

std::string first_word(std::string_view text) {
  std::size_t end = 0;
  while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
  return std::string(text.substr(0, end));
}

std::string syntax_hint(std::string_view message) {
  if (message.find("unterminated string") != std::string_view::npos) return "close the string with \" on the same line";
  if (message.find("unterminated regex") != std::string_view::npos)
    return "close the regex with / on the same line; write \\/ for a slash inside it";
  if (message.find("expected ':'") != std::string_view::npos) return "write `group NAME : PREDICATE { options }`";
  if (message.find("expected a predicate") != std::string_view::npos)
    return "a predicate is e.g. `name starts \"head.\"`, `rank == 1`, `type in {LayerNorm}` or a `let` name";
  if (message.find("operator") != std::string_view::npos) return "e.g. `name starts \"x\"`, `rank == 1`, `type in {A, B}`";
  return "see docs/language.md for the syntax";
}

}  // namespace

File parse(const SourceRef& source, Diagnostics& diagnostics) {
  File file;
  file.source = source;
  if (!check_text(source, diagnostics)) return file;
  std::map<std::size_t, Comment> comments;
  std::string_view text = source->text;
  std::size_t offset = 0, line = 1, column = 1;

  auto advance_to = [&](std::size_t target) {
    for (; offset < target && offset < text.size(); ++offset) {
      if (text[offset] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
  };

  while (true) {
    // Whitespace and comments before the next statement.
    {
      pegtl::memory_input in(text.data() + offset, text.data() + text.size(), source->path, offset, line, column);
      ParseState state{0, &comments};
      pegtl::parse<leading, action>(in, state);
      advance_to(static_cast<std::size_t>(in.current() - text.data()));
    }
    if (offset >= text.size()) break;

    pegtl::memory_input in(text.data() + offset, text.data() + text.size(), source->path, offset, line, column);
    ParseState state{0, &comments};
    std::size_t error_offset = offset;
    try {
      auto root = pegtl::parse_tree::parse<one_statement, selector, action, control>(in, state);
      if (root && !root->children.empty()) {
        file.statements.push_back(build_statement(*root->children.front(), source));
        advance_to(static_cast<std::size_t>(in.current() - text.data()));
        continue;
      }
      std::string word = first_word(text.substr(offset));
      diagnostics.error(code::syntax_error,
                        SourceSpan{source, static_cast<uint32_t>(line), static_cast<uint32_t>(column), token_length(text, offset)},
                        word.empty() ? "expected a statement" : fmt::format("expected a statement, found '{}'", word),
                        suggest(word, {kStatementKeywords.begin(), kStatementKeywords.end()},
                                "statements start with let, select, group, defaults, exclude, freeze, plan, import, "
                                "mode, match or stages"));
    } catch (const pegtl::parse_error& error) {
      const auto& position = error.positions().front();
      error_offset = position.byte;
      std::string message(error.message());
      std::string hint;
      if (auto bar = message.find('|'); bar != std::string::npos) {
        hint = message.substr(bar + 1);
        message.resize(bar);
      } else {
        hint = syntax_hint(message);
      }
      std::string_view code = message.find("nested more than") != std::string::npos ? code::nesting_too_deep
                              : message.find("unterminated") != std::string::npos   ? code::unterminated_literal
                                                                                     : code::syntax_error;
      uint32_t error_line = static_cast<uint32_t>(position.line), error_column = static_cast<uint32_t>(position.column);
      if (code == code::syntax_error && starts_statement(text.substr(error_offset)) && error_column == 1) {
        // The statement ended early: show where, at the end of the line before.
        std::size_t end = text.find_last_not_of(" \t\r\n", error_offset == 0 ? 0 : error_offset - 1);
        if (end != std::string_view::npos && end >= offset) {
          std::size_t line_start = text.rfind('\n', end);
          line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
          error_line = static_cast<uint32_t>(1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
          error_column = static_cast<uint32_t>(end - line_start + 2);
          diagnostics.error(code, SourceSpan{source, error_line, error_column, 1}, message + ", found the end of the line",
                            hint);
          goto recover;
        }
      }
      if (error_offset < text.size() && code == code::syntax_error) {
        std::string found = first_word(text.substr(error_offset));
        if (found.empty() && text[error_offset] != '\n') found = std::string(1, text[error_offset]);
        if (!found.empty()) message += fmt::format(", found '{}'", found);
      }
      diagnostics.error(code, SourceSpan{source, error_line, error_column, token_length(text, error_offset)}, message, hint);
    }
  recover:
    // Recover: resume at the next line that starts a statement; that may be
    // the error's own line, when a statement ended early (`let a = name starts`).
    std::size_t error_line_start = error_offset == 0 ? 0 : text.rfind('\n', error_offset - 1);
    error_line_start = error_line_start == std::string_view::npos ? 0 : error_line_start + 1;
    if (error_line_start > offset && starts_statement(text.substr(error_line_start))) {
      advance_to(error_line_start);
      continue;
    }
    // Statements start at column 1; a word there is a statement or a typo of one.
    auto starts_with_word = [&](std::size_t at) {
      return at < text.size() && (std::isalpha(static_cast<unsigned char>(text[at])) || text[at] == '_');
    };
    std::size_t resume = text.find('\n', std::max(error_offset, offset));
    while (resume != std::string_view::npos && !starts_with_word(resume + 1)) resume = text.find('\n', resume + 1);
    advance_to(resume == std::string_view::npos ? text.size() : resume + 1);
  }
  for (auto& [byte, comment] : comments) file.comments.push_back(std::move(comment));
  return file;
}

}  // namespace taxon::tx
