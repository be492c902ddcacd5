// The taxon language's grammar (PEGTL). Internal to tx_parser.cpp: rules
// here decide what is syntax; tx_build.cpp turns the parse tree into the AST
// and checks what is meaning (which operator suits which field).
#pragma once

#include <tao/pegtl.hpp>

namespace taxon::tx::peg {

using namespace tao::pegtl;

// Whitespace and comments ---------------------------------------------------
struct comment : seq<one<'#'>, until<at<eolf>, any>> {};
struct ws : sor<one<' ', '\t', '\r', '\n'>, comment> {};
struct _ : star<ws> {};

// Keywords ------------------------------------------------------------------
struct k_let : TAO_PEGTL_KEYWORD("let") {};
struct k_select : TAO_PEGTL_KEYWORD("select") {};
struct k_group : TAO_PEGTL_KEYWORD("group") {};
struct k_defaults : TAO_PEGTL_KEYWORD("defaults") {};
struct k_exclude : TAO_PEGTL_KEYWORD("exclude") {};
struct k_freeze : TAO_PEGTL_KEYWORD("freeze") {};
struct k_plan : TAO_PEGTL_KEYWORD("plan") {};
struct k_import : TAO_PEGTL_KEYWORD("import") {};
struct k_mode : TAO_PEGTL_KEYWORD("mode") {};
struct k_match : TAO_PEGTL_KEYWORD("match") {};
struct k_stages : TAO_PEGTL_KEYWORD("stages") {};
struct k_set : TAO_PEGTL_KEYWORD("set") {};
struct k_param : TAO_PEGTL_KEYWORD("param") {};
struct k_and : TAO_PEGTL_KEYWORD("and") {};
struct k_or : TAO_PEGTL_KEYWORD("or") {};
struct k_not : TAO_PEGTL_KEYWORD("not") {};
struct k_true : TAO_PEGTL_KEYWORD("true") {};
struct k_false : TAO_PEGTL_KEYWORD("false") {};
struct k_trainable : TAO_PEGTL_KEYWORD("trainable") {};
struct k_frozen : TAO_PEGTL_KEYWORD("frozen") {};
struct k_new : TAO_PEGTL_KEYWORD("new") {};
struct k_in : TAO_PEGTL_KEYWORD("in") {};
struct k_is : TAO_PEGTL_KEYWORD("is") {};
struct k_under : TAO_PEGTL_KEYWORD("under") {};
struct k_starts : TAO_PEGTL_KEYWORD("starts") {};
struct k_ends : TAO_PEGTL_KEYWORD("ends") {};
struct k_contains : TAO_PEGTL_KEYWORD("contains") {};
struct k_name : TAO_PEGTL_KEYWORD("name") {};
struct k_module : TAO_PEGTL_KEYWORD("module") {};
struct k_rank : TAO_PEGTL_KEYWORD("rank") {};
struct k_shape : TAO_PEGTL_KEYWORD("shape") {};
struct k_dtype : TAO_PEGTL_KEYWORD("dtype") {};
struct k_kind : TAO_PEGTL_KEYWORD("kind") {};
struct k_type : TAO_PEGTL_KEYWORD("type") {};
struct k_stage : TAO_PEGTL_KEYWORD("stage") {};
struct k_source : TAO_PEGTL_KEYWORD("source") {};
struct k_from : TAO_PEGTL_KEYWORD("from") {};
struct k_root : TAO_PEGTL_KEYWORD("root") {};
struct k_strip : TAO_PEGTL_KEYWORD("strip") {};
struct k_prefix : TAO_PEGTL_KEYWORD("prefix") {};
struct k_drop : TAO_PEGTL_KEYWORD("drop") {};
struct k_keep : TAO_PEGTL_KEYWORD("keep") {};
struct k_rename : TAO_PEGTL_KEYWORD("rename") {};
struct k_copy : TAO_PEGTL_KEYWORD("copy") {};
struct k_renumber : TAO_PEGTL_KEYWORD("renumber") {};
struct k_resize : TAO_PEGTL_KEYWORD("resize") {};
struct k_resample : TAO_PEGTL_KEYWORD("resample") {};
struct k_transform : TAO_PEGTL_KEYWORD("transform") {};
struct k_skip : TAO_PEGTL_KEYWORD("skip") {};
struct k_load : TAO_PEGTL_KEYWORD("load") {};
struct k_where : TAO_PEGTL_KEYWORD("where") {};
// Contextual words: keywords only where they appear.
struct k_overlap : TAO_PEGTL_KEYWORD("overlap") {};
struct k_first_match : TAO_PEGTL_KEYWORD("first_match") {};
struct k_off : TAO_PEGTL_KEYWORD("off") {};
struct k_names : TAO_PEGTL_KEYWORD("names") {};
struct k_without : TAO_PEGTL_KEYWORD("without") {};
struct k_mismatched : TAO_PEGTL_KEYWORD("mismatched") {};
struct k_split : TAO_PEGTL_KEYWORD("split") {};  // plan steps only
struct k_fuse : TAO_PEGTL_KEYWORD("fuse") {};
struct k_stack : TAO_PEGTL_KEYWORD("stack") {};
struct k_unstack : TAO_PEGTL_KEYWORD("unstack") {};
struct k_with : TAO_PEGTL_KEYWORD("with") {};  // import "x.tx" with { ... }
struct k_groups : TAO_PEGTL_KEYWORD("groups") {};  // keep frozen in groups
struct k_count : TAO_PEGTL_KEYWORD("count") {};  // count(PREDICATE)

struct reserved
    : sor<k_let, k_select, k_group, k_defaults, k_exclude, k_freeze, k_plan, k_import, k_mode, k_match, k_stages,
          k_set, k_param, k_and, k_or, k_not, k_true, k_false, k_trainable, k_frozen, k_new, k_in, k_is, k_under, k_starts, k_ends,
          k_contains, k_name, k_module, k_rank, k_shape, k_dtype, k_kind, k_type, k_stage, k_source, k_from, k_strip, k_prefix,
          k_drop, k_keep, k_rename, k_copy, k_renumber, k_resize, k_resample, k_transform, k_skip, k_load, k_where> {};

struct statement_keyword : sor<k_let, k_select, k_group, k_defaults, k_exclude, k_freeze, k_plan, k_import, k_mode,
                               k_match, k_stages, k_set, k_param> {};

// Literals --------------------------------------------------------------------
struct word : identifier {};                           // any identifier, keywords included
struct value_word : seq<not_at<statement_keyword>, identifier> {};  // a bare value, never the next statement
struct ident : seq<not_at<reserved>, identifier> {};   // a name usable in a predicate
struct string_char : sor<seq<one<'\\'>, not_one<'\n'>>, not_one<'"', '\n'>> {};
struct string_body : star<string_char> {};
struct string_close : one<'"'> {};
struct string_lit : if_must<one<'"'>, string_body, string_close> {};
struct regex_char : sor<seq<one<'\\'>, not_one<'\n'>>, not_one<'/', '\n'>> {};
struct regex_body : star<regex_char> {};
struct regex_close : one<'/'> {};
struct regex_lit : if_must<one<'/'>, regex_body, regex_close> {};
struct number : seq<plus<digit>, opt<one<'.'>, star<digit>>, opt<one<'e', 'E'>, opt<one<'+', '-'>>, plus<digit>>,
                    not_at<identifier_other>> {};
struct wildcard : seq<one<'_'>, not_at<identifier_other>> {};

struct comma : seq<_, one<','>, _> {};
struct set_item : sor<string_lit, regex_lit, number, value_word> {};
struct set_close : one<'}'> {};
struct set_lit : if_must<one<'{'>, _, opt<list_tail<set_item, comma>>, _, set_close> {};
struct shape_dim : sor<number, wildcard> {};
struct shape_close : one<']'> {};
struct shape_lit : if_must<one<'['>, _, opt<list_tail<shape_dim, comma>>, _, shape_close> {};

// Rules that must match where they stand carry the error message; the bare
// rules stay free to fail inside alternatives (must_if raises on any failure
// of a rule that has a message).
struct expect_string : seq<string_lit> {};
struct expect_regex : seq<regex_lit> {};
struct expect_word : seq<word> {};
struct expect_set : seq<set_lit> {};

// Predicates ----------------------------------------------------------------------
struct pred;
struct expect_pred : seq<pred> {};
struct field : sor<k_name, k_module, k_rank, k_shape, k_dtype, k_kind, k_type, k_stage, k_source> {};
struct op_eq : string<'=', '='> {};
struct op_ne : string<'!', '='> {};
struct op_le : string<'<', '='> {};
struct op_ge : string<'>', '='> {};
struct op_lt : one<'<'> {};
struct op_gt : one<'>'> {};
struct op_match : one<'~'> {};
struct test_op : sor<op_eq, op_ne, op_le, op_ge, op_lt, op_gt, op_match, k_starts, k_ends, k_contains, k_under, k_in, k_is> {};
struct test_value : sor<set_lit, shape_lit, string_lit, regex_lit, number, value_word> {};
struct test : if_must<field, _, test_op, _, test_value> {};
struct flag : sor<k_true, k_false, k_trainable, k_frozen, k_new> {};
struct paren_close : one<')'> {};
struct paren : if_must<one<'('>, _, expect_pred, _, paren_close> {};
struct ref : ident {};
struct primary : sor<paren, test, flag, ref> {};
struct not_expr;
struct expect_not_expr : seq<not_expr> {};
struct not_expr : sor<if_must<k_not, _, expect_not_expr>, primary> {};
struct and_expr : seq<not_expr, star<_, k_and, _, expect_not_expr>> {};
struct expect_and_expr : seq<and_expr> {};
struct or_expr : seq<and_expr, star<_, k_or, _, expect_and_expr>> {};
struct pred : seq<or_expr> {};

// Option values ---------------------------------------------------------------------
struct expr;
struct op_pow : string<'*', '*'> {};
struct op_mul : seq<one<'*'>, not_at<one<'*'>>> {};
struct op_div : one<'/'> {};
struct op_add : one<'+'> {};
struct op_sub : one<'-'> {};
struct list_close : one<']'> {};
struct expect_expr : seq<expr> {};
struct list_lit : if_must<one<'['>, _, opt<list_tail<expr, comma>>, _, list_close> {};
struct paren_expr : if_must<one<'('>, _, expect_expr, _, paren_close> {};
// Calls: `max(i where PREDICATE)` (an aggregate over the model), `count(PREDICATE)`, and
// `min(a, b)`, `max(a, b)`, `clamp(x, low, high)`. Their closing parentheses carry no message:
// a call that does not parse as one form may still parse as the next.
struct call_open : seq<identifier, _, one<'('>> {};
struct call_close : one<')'> {};
struct function_name : identifier {};
struct aggregate_close : one<')'> {};
struct aggregate : seq<function_name, _, one<'('>, _, expr, _, k_where, _, expect_pred, _, aggregate_close> {};
struct count_call : seq<k_count, _, one<'('>, _, pred, _, call_close> {};
struct call : seq<function_name, _, one<'('>, _, opt<list_tail<expr, comma>>, _, call_close> {};
struct atom : sor<number, string_lit, list_lit, paren_expr, seq<at<call_open>, sor<aggregate, count_call, call>>, value_word> {};
// Python's precedence: `**` binds tighter than a unary minus on its left (`-2 ** 2` is -4) and
// takes one on its right (`2 ** -1`), right to left (`2 ** 3 ** 2` is 2 ** 9).
struct negate;
struct power;
struct unary : sor<negate, power> {};
struct expect_operand : seq<unary> {};
struct negate : if_must<op_sub, _, expect_operand> {};
struct power : seq<atom, opt<_, op_pow, _, expect_operand>> {};
struct term : seq<unary, star<_, sor<op_mul, op_div>, _, expect_operand>> {};
struct expect_term : seq<term> {};
struct expr : seq<term, star<_, sor<op_add, op_sub>, _, expect_term>> {};
struct equals : one<'='> {};
struct option : if_must<word, _, equals, _, expect_expr> {};
struct option_sep : seq<_, opt<one<','>>, _> {};
struct options_close : one<'}'> {};
struct options : if_must<one<'{'>, _, opt<list_tail<option, option_sep>>, _, options_close> {};
struct expect_options : seq<options> {};

// Statements --------------------------------------------------------------------
struct colon : one<':'> {};
struct stmt_name : sor<string_lit, word> {};
struct binding_name : ident {};
struct mode_value : sor<k_overlap, k_first_match, k_off> {};
struct import_with : seq<k_with, _, expect_options> {};
struct stmt_import : if_must<k_import, _, expect_string, opt<_, import_with>> {};
struct stmt_mode : if_must<k_mode, _, mode_value> {};
struct stmt_match : if_must<k_match, _, k_names, _, k_without, _, expect_string> {};
struct stage_key : sor<string_lit, number, value_word> {};
struct stage_entry : if_must<stage_key, _, colon, _, expect_set> {};
struct stages_close : one<'}'> {};
struct stages_open : one<'{'> {};
struct stmt_stages : if_must<k_stages, _, stages_open, _, opt<list_tail<stage_entry, option_sep>>, _, stages_close> {};
// A `let` names a value when what follows `=` can only be one: a number, a string, a list, a
// minus, a call, or a name followed by arithmetic; otherwise it names a predicate. A word of the
// predicate language is never a value's name: `not (a or b)` is a predicate, not a call.
struct arithmetic_after : seq<not_at<reserved>, identifier, _, one<'(', '+', '-', '*', '/'>> {};
struct value_start : sor<number, one<'-', '[', '"'>, arithmetic_after,
                         seq<one<'('>, _, sor<number, one<'-'>, arithmetic_after>>> {};
struct let_value : seq<expr> {};
struct stmt_let : if_must<k_let, _, binding_name, _, equals, _, sor<seq<at<value_start>, let_value>, expect_pred>> {};
struct stmt_param : if_must<k_param, _, binding_name, _, equals, _, expect_expr> {};
struct stmt_set : if_must<k_set, _, stmt_name, _, colon, _, expect_pred, _, expect_options> {};
struct keep_frozen_words : seq<k_frozen, _, k_in, _, k_groups> {};
struct stmt_keep_frozen : seq<k_keep, _, at<k_frozen>, must<keep_frozen_words>> {};
struct stmt_select : if_must<k_select, _, stmt_name, _, colon, _, expect_pred> {};
struct group_body : sor<seq<one<':'>, _, expect_pred, opt<_, options>>, options> {};
struct stmt_group : if_must<k_group, _, stmt_name, _, group_body> {};
struct stmt_defaults : if_must<k_defaults, _, expect_options> {};
struct stmt_exclude : if_must<k_exclude, _, stmt_name, _, colon, _, expect_pred> {};
struct stmt_freeze : if_must<k_freeze, _, colon, _, expect_pred> {};

// Plan items.
struct source : sor<string_lit, k_root> {};
struct bar : seq<_, one<'|'>, _> {};
struct item_from : if_must<k_from, _, list<source, bar>> {};
struct item_text : if_must<sor<k_strip, k_prefix>, _, expect_string> {};
struct item_predicate : if_must<sor<k_drop, k_keep>, _, expect_pred> {};
struct arrow : string<'-', '>'> {};
struct item_rewrite : if_must<sor<k_rename, k_copy, k_renumber>, _, expect_regex, _, arrow, _, expect_string> {};
struct expect_where : seq<k_where> {};
struct item_transform
    : if_must<sor<k_resize, k_resample, k_transform>, _, expect_word, _, expect_where, _, expect_pred, opt<_, options>> {};
struct surgery_others : star<comma, string_lit> {};
struct surgery_outputs : seq<expect_string, star<comma, string_lit>> {};
struct item_surgery : if_must<sor<k_split, k_fuse, k_unstack, k_stack>, _, expect_regex, surgery_others, _, arrow, _,
                              surgery_outputs, opt<_, options>> {};
struct item_skip : if_must<k_skip, _, k_mismatched> {};
struct inline_option : seq<at<ident, _, one<'='>>, option> {};
struct item_load : seq<k_load, star<_, inline_option>> {};
struct plan_item
    : sor<item_from, item_text, item_predicate, item_rewrite, item_transform, item_surgery, item_skip, item_load> {};
struct plan_open : one<'{'> {};
struct plan_close : one<'}'> {};
struct stmt_plan : if_must<k_plan, _, stmt_name, _, plan_open, _, star<plan_item, _>, plan_close> {};

struct statement : sor<stmt_import, stmt_mode, stmt_match, stmt_stages, stmt_let, stmt_param, stmt_select, stmt_group,
                       stmt_set, stmt_defaults, stmt_exclude, stmt_freeze, stmt_keep_frozen, stmt_plan> {};
// One statement, parsed at a time so that an error in one does not hide the next.
struct one_statement : seq<statement, _> {};
struct leading : seq<_> {};

// What a parse error says, for the rules that must match where they stand.
struct errors {
  template <typename Rule>
  static constexpr const char* message = nullptr;
};
template <> inline constexpr const char* errors::message<string_close> = "unterminated string: a string ends with \" on the same line";
template <> inline constexpr const char* errors::message<regex_close> = "unterminated regex: a regex ends with / on the same line";
template <> inline constexpr const char* errors::message<set_close> = "expected ',' or '}' in this set";
template <> inline constexpr const char* errors::message<shape_close> = "expected ',' or ']' in this shape";
template <> inline constexpr const char* errors::message<test_op> =
    "expected an operator: ==, !=, <, <=, >, >=, ~, starts, ends, contains, under or in";
template <> inline constexpr const char* errors::message<test_value> =
    "expected a value: a string, a /regex/, a number, a name, a {set} or a [shape]";
template <> inline constexpr const char* errors::message<expect_pred> = "expected a predicate";
template <> inline constexpr const char* errors::message<expect_not_expr> = "expected a predicate";
template <> inline constexpr const char* errors::message<expect_and_expr> = "expected a predicate";
template <> inline constexpr const char* errors::message<paren_close> = "expected ')'";
template <> inline constexpr const char* errors::message<expect_expr> = "expected a value";
template <> inline constexpr const char* errors::message<expect_term> = "expected a value";
template <> inline constexpr const char* errors::message<expect_operand> = "expected a value";
template <> inline constexpr const char* errors::message<list_close> = "expected ',' or ']' in this list";
template <> inline constexpr const char* errors::message<equals> = "expected '='";
template <> inline constexpr const char* errors::message<options_close> = "expected an option `key = value` or '}'";
template <> inline constexpr const char* errors::message<colon> = "expected ':'";
template <> inline constexpr const char* errors::message<stmt_name> = "expected a name";
template <> inline constexpr const char* errors::message<binding_name> =
    "expected a name for the binding (not a keyword such as name, rank, type, group)";
template <> inline constexpr const char* errors::message<expect_string> = "expected a \"string\"";
template <> inline constexpr const char* errors::message<mode_value> = "expected `overlap`, `first_match` or `off`";
template <> inline constexpr const char* errors::message<k_names> = "expected `match names without \"PREFIX\"`";
template <> inline constexpr const char* errors::message<k_without> = "expected `match names without \"PREFIX\"`";
template <> inline constexpr const char* errors::message<stages_open> = "expected '{' after stages";
template <> inline constexpr const char* errors::message<stages_close> = "expected `STAGE: {patterns}` or '}'";
template <> inline constexpr const char* errors::message<expect_set> = "expected a {set} of name patterns";
template <> inline constexpr const char* errors::message<group_body> =
    "expected ':' and a predicate, or the { options } of the default group";
template <> inline constexpr const char* errors::message<expect_options> = "expected { options }";
template <> inline constexpr const char* errors::message<plan_open> = "expected '{' after the plan's name";
template <> inline constexpr const char* errors::message<plan_close> =
    "expected a plan step (from, strip, prefix, drop, keep, rename, copy, renumber, resize, resample, transform, split, fuse, "
    "stack, unstack, skip, load) or '}'";
template <> inline constexpr const char* errors::message<list<source, bar>> = "expected a \"key\" or root";
template <> inline constexpr const char* errors::message<expect_regex> = "expected a /regex/";
template <> inline constexpr const char* errors::message<arrow> = "expected '->'";
template <> inline constexpr const char* errors::message<expect_word> = "expected a name";
template <> inline constexpr const char* errors::message<expect_where> = "expected `where` and a predicate";
template <> inline constexpr const char* errors::message<k_mismatched> = "expected `skip mismatched`";
template <> inline constexpr const char* errors::message<keep_frozen_words> = "expected `keep frozen in groups`";

}  // namespace taxon::tx::peg
