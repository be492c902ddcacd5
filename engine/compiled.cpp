#include "engine/compiled.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/matcher.hpp"
#include "engine/index/literal_index.hpp"
#include "engine/index/module_type_memo.hpp"
#include "engine/passes/predicate_key.hpp"
#include "engine/index/regex_dfa.hpp"
#include "engine/index/regex_set.hpp"

namespace taxon {

Bitset::Bitset(std::size_t size, bool value) : words_((size + 63) / 64, value ? ~uint64_t{0} : 0), size_(size) {
  if (value && size % 64) words_.back() = (uint64_t{1} << (size % 64)) - 1;
}

Bitset& Bitset::operator&=(const Bitset& other) {
  for (std::size_t w = 0; w < words_.size(); ++w) words_[w] &= other.words_[w];
  return *this;
}

Bitset& Bitset::operator|=(const Bitset& other) {
  for (std::size_t w = 0; w < words_.size(); ++w) words_[w] |= other.words_[w];
  return *this;
}

Bitset Bitset::operator~() const { return Bitset(size_, true).and_not(*this); }

Bitset Bitset::and_not(const Bitset& other) const {
  Bitset out = *this;
  for (std::size_t w = 0; w < words_.size(); ++w) out.words_[w] &= ~other.words_[w];
  return out;
}

std::size_t Bitset::count() const {
  std::size_t total = 0;
  for (uint64_t word : words_) total += static_cast<std::size_t>(__builtin_popcountll(word));
  return total;
}

namespace {

enum class NodeKind { constant, string, module_type, rank, shape, dtype, kind, other, all, any, negate };

struct Node {
  NodeKind kind = NodeKind::other;
  const Predicate* predicate = nullptr;
  std::vector<std::size_t> children;
  bool uses_trainable = false;
  std::optional<Bitset> value;  // once computed
};

constexpr std::size_t kFields = 3;  // StringField: name, module, source

}  // namespace

struct CompiledRules::Impl {
  const TensorTable& table;
  const Matcher& matcher;
  ModuleTypeMemo types;
  std::vector<Node> nodes;
  std::unordered_map<std::string, std::size_t> by_key;
  std::vector<std::size_t> roots;
  // Per field: the literal index and regex set of every string test, and which string
  // nodes each of their pattern ids feeds.
  std::array<LiteralIndex, kFields> literals;
  std::array<RegexSet, kFields> regexes;
  // Every string test of a field, literal or regex, in one resumable DFA, used when it
  // takes them all; its ids index `dfa_targets` (is a regex, the literal's or regex's id).
  std::array<RegexDfa, kFields> dfas;
  std::array<std::vector<std::pair<bool, std::size_t>>, kFields> dfa_targets;
  std::array<bool, kFields> dfa_takes_all{};
  std::array<std::vector<std::vector<std::size_t>>, kFields> literal_nodes, regex_nodes;
  std::array<bool, kFields> field_used{};
  std::size_t shared = 0;  // sub-predicates found again (and computed once)

  Impl(const TensorTable& t, const Matcher& m) : table(t), matcher(m), types(t) {}

  std::size_t add(const Predicate& predicate) {
    std::string key = predicate_key(predicate);
    if (auto found = by_key.find(key); found != by_key.end()) {
      ++shared;
      return found->second;
    }
    Node node;
    node.predicate = &predicate;
    std::visit(
        [&](const auto& p) {
          using P = std::decay_t<decltype(p)>;
          if constexpr (std::is_same_v<P, Constant>) node.kind = NodeKind::constant;
          else if constexpr (std::is_same_v<P, StringMatch>) node.kind = NodeKind::string;
          else if constexpr (std::is_same_v<P, ModuleTypeIn>) node.kind = NodeKind::module_type;
          else if constexpr (std::is_same_v<P, RankIn>) node.kind = NodeKind::rank;
          else if constexpr (std::is_same_v<P, ShapeIs>) node.kind = NodeKind::shape;
          else if constexpr (std::is_same_v<P, DtypeIn>) node.kind = NodeKind::dtype;
          else if constexpr (std::is_same_v<P, KindIs>) node.kind = NodeKind::kind;
          else if constexpr (std::is_same_v<P, RequiresGrad>) node.uses_trainable = true;
          else if constexpr (std::is_same_v<P, AllOf> || std::is_same_v<P, AnyOf>) {
            node.kind = std::is_same_v<P, AllOf> ? NodeKind::all : NodeKind::any;
            for (const auto& term : p.terms) node.children.push_back(add(term));
          } else if constexpr (std::is_same_v<P, Not>) {
            node.kind = NodeKind::negate;
            node.children.push_back(add(*p.term));
          }
        },
        predicate.node);
    for (std::size_t child : node.children) node.uses_trainable = node.uses_trainable || nodes[child].uses_trainable;
    std::size_t id = nodes.size();
    if (node.kind == NodeKind::string) register_patterns(std::get<StringMatch>(predicate.node), id);
    nodes.push_back(std::move(node));
    by_key.emplace(std::move(key), id);
    return id;
  }

  void register_patterns(const StringMatch& match, std::size_t node) {
    auto field = static_cast<std::size_t>(match.field);
    field_used[field] = true;
    for (const auto& pattern : match.patterns) {
      std::size_t id = 0;
      if (match.op == MatchOp::regex) {
        std::string error;
        std::size_t before = regexes[field].size();
        if (!regexes[field].add(pattern, id, error)) continue;  // invalid: reported by Matcher::prepare, matches nothing
        if (regexes[field].size() > before) add_to_dfa(field, pattern, true, id);
        if (regex_nodes[field].size() <= id) regex_nodes[field].resize(id + 1);
        regex_nodes[field][id].push_back(node);
      } else {
        std::size_t before = literals[field].size();
        id = literals[field].add(match.op, pattern);
        if (literals[field].size() > before) add_to_dfa(field, literal_regex(match.op, pattern), false, id);
        if (literal_nodes[field].size() <= id) literal_nodes[field].resize(id + 1);
        literal_nodes[field][id].push_back(node);
      }
    }
  }

  void add_to_dfa(std::size_t field, const std::string& pattern, bool is_regex, std::size_t id) {
    if (!dfas[field].add(pattern, dfa_targets[field].size())) dfa_takes_all[field] = false;
    dfa_targets[field].emplace_back(is_regex, id);
  }

  // A literal test as the regex that means the same.
  static std::string literal_regex(MatchOp op, const std::string& pattern) {
    std::string out = op == MatchOp::equals || op == MatchOp::starts ? "^" : "";
    for (char c : pattern) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && static_cast<unsigned char>(c) < 0x80) out += '\\';
      out += c;
    }
    if (op == MatchOp::equals || op == MatchOp::ends) out += '$';
    return out;
  }

  std::string_view subject(StringField field, std::size_t i) const {
    switch (field) {
      case StringField::name: return matcher.match_name(i);
      case StringField::module: return table.tensors[i].module;
      case StringField::source: return table.tensors[i].source;
    }
    return {};
  }

  // Every string node at once: one pass over the tensors per field in use. Where the DFA
  // answers, names are taken 64 at a time (one word of every bitset) and grouped by the state
  // they end in: each state's nodes get the word's bits for all its names at once, rather than
  // a bit per name per node (a read and write of memory each, on the critical path).
  void compute_strings() {
    std::size_t count = table.tensors.size();
    for (auto& node : nodes)
      if (node.kind == NodeKind::string) node.value = Bitset(count, false);
    std::vector<std::size_t> found;
    for (std::size_t f = 0; f < kFields; ++f) {
      if (!field_used[f]) continue;
      LiteralIndex::Scanner scanner(literals[f]);
      RegexDfa::Scanner dfa_scanner(dfas[f]);
      bool use_dfa = dfa_takes_all[f] && !dfas[f].empty();
      // Per DFA end state: the nodes a name ending there makes true (built on first use).
      std::vector<std::optional<std::vector<Bitset*>>> true_at;
      // Per state: its place in the block's list of states, plus one (0: not met in this block).
      std::vector<uint8_t> slot_of;
      std::array<int32_t, 64> block_states{};
      std::array<uint64_t, 64> block_bits{};
      auto field = static_cast<StringField>(f);
      for (std::size_t base = 0; base < count; base += 64) {
        std::size_t distinct = 0, end = std::min(base + 64, count);
        for (std::size_t i = base; i < end; ++i) {
          std::string_view text = subject(field, i);
          int32_t state = use_dfa ? dfa_scanner.end_state(text) : -1;
          if (state < 0) {
            match_without_dfa(f, i, text, scanner, found);
            continue;
          }
          auto at = static_cast<std::size_t>(state);
          if (slot_of.size() <= at) slot_of.resize(at + 1, 0);
          if (slot_of[at] == 0) {
            block_states[distinct] = state;
            block_bits[distinct] = 0;
            slot_of[at] = static_cast<uint8_t>(++distinct);
          }
          block_bits[slot_of[at] - 1] |= uint64_t{1} << (i - base);
        }
        for (std::size_t k = 0; k < distinct; ++k) {
          auto at = static_cast<std::size_t>(block_states[k]);
          slot_of[at] = 0;
          if (true_at.size() <= at) true_at.resize(at + 1);
          if (!true_at[at]) {
            true_at[at].emplace();
            for (std::size_t target : dfas[f].matched(block_states[k])) {
              auto [is_regex, id] = dfa_targets[f][target];
              for (std::size_t node : (is_regex ? regex_nodes : literal_nodes)[f][id]) true_at[at]->push_back(&*nodes[node].value);
            }
          }
          for (Bitset* bits : *true_at[at]) bits->set_in_word(base / 64, block_bits[k]);
        }
      }
    }
  }

  // A name the DFA could not answer: the literal index and the RE2::Set do.
  void match_without_dfa(std::size_t f, std::size_t i, std::string_view text, LiteralIndex::Scanner& scanner,
                         std::vector<std::size_t>& found) {
    found.clear();
    scanner.match(text, found);
    for (std::size_t id : found)
      for (std::size_t node : literal_nodes[f][id]) nodes[node].value->set(i);
    if (regexes[f].empty()) return;
    found.clear();
    regexes[f].match(text, found);
    for (std::size_t id : found)
      for (std::size_t node : regex_nodes[f][id]) nodes[node].value->set(i);
  }

  template <typename Test>
  Bitset column(Test&& test) const {
    Bitset bits(table.tensors.size(), false);
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (test(table.tensors[i])) bits.set(i);
    return bits;
  }

  const Bitset& value(std::size_t id) {
    Node& node = nodes[id];
    if (node.value) return *node.value;
    std::size_t count = table.tensors.size();
    switch (node.kind) {
      case NodeKind::constant: node.value = Bitset(count, std::get<Constant>(node.predicate->node).value); break;
      case NodeKind::string: compute_strings(); break;
      case NodeKind::module_type: {
        std::vector<bool> answers = types.answers(std::get<ModuleTypeIn>(node.predicate->node));
        Bitset bits(count, false);
        for (std::size_t i = 0; i < count; ++i)
          if (types.matches(i, answers)) bits.set(i);
        node.value = std::move(bits);
        break;
      }
      // Tests of a tensor's own fields: a loop over the table each, no dispatch per tensor.
      case NodeKind::rank: {
        const auto& ranks = std::get<RankIn>(node.predicate->node).ranks;
        std::array<bool, 65> in{};
        for (int64_t rank : ranks)
          if (rank >= 0 && rank <= 64) in[static_cast<std::size_t>(rank)] = true;
        node.value = column([&](const TensorRecord& t) { return t.rank() <= 64 && in[t.rank()]; });
        break;
      }
      case NodeKind::shape: {
        const auto& dims = std::get<ShapeIs>(node.predicate->node).dims;
        node.value = column([&](const TensorRecord& t) {
          if (t.shape.size() != dims.size()) return false;
          for (std::size_t d = 0; d < dims.size(); ++d)
            if (dims[d] && *dims[d] != t.shape[d]) return false;
          return true;
        });
        break;
      }
      case NodeKind::dtype: {
        const auto& dtypes = std::get<DtypeIn>(node.predicate->node).dtypes;
        const std::string_view* last = nullptr;  // neighbours mostly share a dtype: compare strings only on a change
        bool answer = false;
        node.value = column([&](const TensorRecord& t) {
          if (!last || t.dtype != *last) {
            last = &t.dtype;
            answer = std::find(dtypes.begin(), dtypes.end(), t.dtype) != dtypes.end();
          }
          return answer;
        });
        break;
      }
      case NodeKind::kind: {
        TensorKind kind = std::get<KindIs>(node.predicate->node).kind;
        node.value = column([&](const TensorRecord& t) { return t.kind == kind; });
        break;
      }
      case NodeKind::other: {
        Bitset bits(count, false);
        for (std::size_t i = 0; i < count; ++i)
          if (matcher.matches(*node.predicate, i)) bits.set(i);
        node.value = std::move(bits);
        break;
      }
      case NodeKind::all:
      case NodeKind::any: {
        bool all = node.kind == NodeKind::all;
        Bitset bits(count, all);
        for (std::size_t child : std::vector<std::size_t>(node.children)) {
          if (all) bits &= value(child);
          else bits |= value(child);
        }
        nodes[id].value = std::move(bits);
        break;
      }
      case NodeKind::negate: {
        Bitset bits = ~value(node.children[0]);
        nodes[id].value = std::move(bits);
        break;
      }
    }
    return *nodes[id].value;
  }
};

CompiledRules::CompiledRules(const std::vector<const Predicate*>& roots, const TensorTable& table, const Matcher& matcher)
    : impl_(std::make_unique<Impl>(table, matcher)) {
  impl_->nodes.reserve(64);
  impl_->dfa_takes_all.fill(true);
  for (const Predicate* root : roots) impl_->roots.push_back(impl_->add(*root));
  for (auto& literals : impl_->literals) literals.build();
}

CompiledRules::~CompiledRules() = default;

const Bitset& CompiledRules::root(std::size_t index) { return impl_->value(impl_->roots.at(index)); }

void CompiledRules::trainable_changed() {
  for (auto& node : impl_->nodes)
    if (node.uses_trainable) node.value.reset();
}

std::string CompiledRules::describe() const {
  static constexpr std::array<std::string_view, kFields> names = {"name", "module", "source"};
  std::string out = fmt::format("{} rules, {} distinct sub-predicates ({} written more than once, each computed once)\n",
                                impl_->roots.size(), impl_->nodes.size(), impl_->shared);
  for (std::size_t f = 0; f < kFields; ++f) {
    if (!impl_->field_used[f]) continue;
    if (impl_->dfa_takes_all[f] && !impl_->dfas[f].empty())
      out += fmt::format("{}: {} literal tests and {} regexes in one resumable DFA ({} states built); for a name it cannot "
                         "answer (non-ASCII bytes):\n",
                         names[f], impl_->literals[f].size(), impl_->regexes[f].size(), impl_->dfas[f].states());
    if (impl_->literals[f].size()) out += fmt::format("{}: {}\n", names[f], impl_->literals[f].describe());
    if (!impl_->regexes[f].empty()) out += fmt::format("{}: {}\n", names[f], impl_->regexes[f].describe());
  }
  std::size_t memo = 0;
  for (const auto& node : impl_->nodes) memo += node.kind == NodeKind::module_type;
  if (memo)
    out += fmt::format("module types: {} test{} answered once per class ({} classes)\n", memo, memo == 1 ? "" : "s",
                       impl_->types.distinct());
  return out;
}

}  // namespace taxon
