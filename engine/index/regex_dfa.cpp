#include "engine/index/regex_dfa.hpp"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_set>

#include "engine/index/common_prefix.hpp"

namespace taxon {
namespace {

using Bytes = std::bitset<256>;

// The regex as a tree, parsed from RE2 syntax (the subset the DFA takes).
struct Re {
  enum class Kind { bytes, empty, cat, alt, star, plus, quest, repeat, begin, end };
  Kind kind = Kind::empty;
  Bytes set;
  std::vector<Re> kids;
  int min = 0, max = 0;  // repeat; max -1: unbounded
};

Re make(Re::Kind kind) {
  Re re;
  re.kind = kind;
  return re;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::optional<Re> parse() {
    Re re = alternation();
    if (!ok_ || at_ != text_.size()) return std::nullopt;
    return re;
  }

 private:
  bool more() const { return ok_ && at_ < text_.size(); }
  char peek() const { return text_[at_]; }
  void fail() { ok_ = false; }

  Re alternation() {
    Re first = concatenation();
    if (!more() || peek() != '|') return first;
    Re alt = make(Re::Kind::alt);
    alt.kids.push_back(std::move(first));
    while (more() && peek() == '|') {
      ++at_;
      alt.kids.push_back(concatenation());
    }
    return alt;
  }

  Re concatenation() {
    Re cat = make(Re::Kind::cat);
    while (more() && peek() != '|' && peek() != ')') cat.kids.push_back(repetition());
    return cat;
  }

  Re repetition() {
    Re atom_re = atom();
    while (more()) {
      char c = peek();
      Re wrapped;
      if (c == '*' || c == '+' || c == '?') {
        ++at_;
        wrapped.kind = c == '*' ? Re::Kind::star : c == '+' ? Re::Kind::plus : Re::Kind::quest;
      } else if (c == '{') {
        auto bounds = counted();
        if (!bounds) return atom_re;  // a literal '{': the next atom takes it
        wrapped.kind = Re::Kind::repeat;
        std::tie(wrapped.min, wrapped.max) = *bounds;
      } else {
        return atom_re;
      }
      if (more() && peek() == '?') ++at_;  // non-greedy: the same language
      wrapped.kids.push_back(std::move(atom_re));
      atom_re = std::move(wrapped);
    }
    return atom_re;
  }

  // {n}, {n,}, {n,m}; nullopt (nothing consumed) when it is not one, and the brace is a literal.
  // A count written with a leading zero ("{0000}") is not one to RE2 either, but rather than
  // copy every corner of RE2's reading, such counts and large ones fail: RE2 answers them.
  std::optional<std::pair<int, int>> counted() {
    std::size_t at = at_ + 1;
    bool unusual = false;
    auto number = [&](int& out) {
      std::size_t begin = at;
      out = 0;
      for (; at < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at])); ++at)
        if (out <= 1000) out = out * 10 + (text_[at] - '0');
      unusual |= at - begin > 1 && text_[begin] == '0';
      return at > begin;
    };
    int min = 0, max = 0;
    if (!number(min)) return std::nullopt;
    max = min;
    if (at < text_.size() && text_[at] == ',') {
      ++at;
      if (!number(max)) max = -1;
    }
    if (at >= text_.size() || text_[at] != '}') return std::nullopt;
    if (unusual || min > 100 || max > 100 || (max >= 0 && max < min)) {
      fail();
      return std::nullopt;
    }
    at_ = at + 1;
    return std::pair{min, max};
  }

  static Bytes range(unsigned char from, unsigned char to) {
    Bytes set;
    for (int c = from; c <= to; ++c) set.set(static_cast<std::size_t>(c));
    return set;
  }

  // \d \w \s and their negations; nullopt for other letters.
  static std::optional<Bytes> perl_class(char c) {
    Bytes set;
    switch (c) {
      case 'd': case 'D': set = range('0', '9'); break;
      case 'w': case 'W': set = range('0', '9') | range('A', 'Z') | range('a', 'z'); set.set('_'); break;
      case 's': case 'S': for (char s : {'\t', '\n', '\f', '\r', ' '}) set.set(static_cast<unsigned char>(s)); break;
      default: return std::nullopt;
    }
    if (std::isupper(static_cast<unsigned char>(c))) set = ~set & range(0, 0x7f);
    return set;
  }

  // One escaped character as a set of bytes (the backslash consumed); fails on what the DFA does not take.
  std::optional<Bytes> escape() {
    if (!more()) return fail(), std::nullopt;
    char c = text_[at_++];
    if (auto set = perl_class(c)) return set;
    Bytes one;
    switch (c) {
      case 'n': one.set('\n'); return one;
      case 't': one.set('\t'); return one;
      case 'r': one.set('\r'); return one;
      case 'f': one.set('\f'); return one;
      case 'v': one.set('\v'); return one;
      default: break;
    }
    if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) return fail(), std::nullopt;
    one.set(static_cast<unsigned char>(c));  // escaped punctuation is itself
    return one;
  }

  Re bytes(Bytes set) {
    Re re = make(Re::Kind::bytes);
    re.set = set;
    return re;
  }

  Re atom() {
    char c = text_[at_++];
    if (static_cast<unsigned char>(c) >= 0x80) return fail(), Re{};
    switch (c) {
      case '(': {
        if (text_.substr(at_).starts_with("?:")) {
          at_ += 2;
        } else if (text_.substr(at_).starts_with("?P<") || text_.substr(at_).starts_with("?<")) {
          std::size_t close = text_.find('>', at_);
          if (close == std::string_view::npos) return fail(), Re{};
          at_ = close + 1;
        } else if (more() && peek() == '?') {
          return fail(), Re{};  // flags
        }
        Re inner = alternation();
        if (!more() || peek() != ')') return fail(), Re{};
        ++at_;
        return inner;
      }
      case '[': return char_class();
      case '.': return bytes(~Bytes().set('\n') & range(0, 0x7f));
      case '^': return make(Re::Kind::begin);
      case '$': return make(Re::Kind::end);
      case '\\': {
        if (more() && (peek() == 'A' || peek() == 'z')) return make(text_[at_++] == 'A' ? Re::Kind::begin : Re::Kind::end);
        auto set = escape();
        return set ? bytes(*set) : Re{};
      }
      case '*': case '+': case '?': case ')': return fail(), Re{};
      default: {
        Bytes one;
        one.set(static_cast<unsigned char>(c));
        return bytes(one);
      }
    }
  }

  Re char_class() {
    bool negated = more() && peek() == '^';
    if (negated) ++at_;
    Bytes set;
    bool first = true;
    while (more() && (peek() != ']' || first)) {
      first = false;
      if (text_.substr(at_).starts_with("[:")) return fail(), Re{};  // POSIX classes
      auto one = [&]() -> std::optional<Bytes> {
        char c = text_[at_++];
        if (static_cast<unsigned char>(c) >= 0x80) return fail(), std::nullopt;
        if (c != '\\') return Bytes().set(static_cast<unsigned char>(c));
        return escape();
      };
      auto low = one();
      if (!low) return Re{};
      if (more() && peek() == '-' && at_ + 1 < text_.size() && text_[at_ + 1] != ']' && low->count() == 1) {
        ++at_;
        auto high = one();
        if (!high || high->count() != 1) return fail(), Re{};
        unsigned char from = 0, to = 0;
        for (int b = 0; b < 256; ++b) {
          if ((*low)[static_cast<std::size_t>(b)]) from = static_cast<unsigned char>(b);
          if ((*high)[static_cast<std::size_t>(b)]) to = static_cast<unsigned char>(b);
        }
        if (from > to) return fail(), Re{};
        set |= range(from, to);
      } else {
        set |= *low;
      }
    }
    if (!more()) return fail(), Re{};
    ++at_;  // ']'
    if (negated) set = ~set & range(0, 0x7f);
    return bytes(set);
  }

  std::string_view text_;
  std::size_t at_ = 0;
  bool ok_ = true;
};

}  // namespace

// Thompson NFA over bytes; every regex's start is searched for at every position.
struct RegexDfa::Nfa {
  struct Node {
    enum class Kind { bytes, split, epsilon, match, begin, end } kind = Kind::epsilon;
    Bytes set;
    int next = -1, alt = -1;
    int regex = -1;  // match
  };
  std::vector<Node> nodes;
  std::vector<int> starts;

  int add(Node::Kind kind, int next, int alt = -1, Bytes set = {}) {
    Node node;
    node.kind = kind;
    node.next = next;
    node.alt = alt;
    node.set = set;
    nodes.push_back(node);
    return static_cast<int>(nodes.size() - 1);
  }

  // Compiles `re` to run into `next`; returns its start. Fails (-2) when repeats grow too large.
  int compile(const Re& re, int next) {
    if (nodes.size() > 20000) return -2;
    switch (re.kind) {
      case Re::Kind::bytes: return add(Node::Kind::bytes, next, -1, re.set);
      case Re::Kind::empty: return next;
      case Re::Kind::begin: return add(Node::Kind::begin, next);
      case Re::Kind::end: return add(Node::Kind::end, next);
      case Re::Kind::cat: {
        int at = next;
        for (auto kid = re.kids.rbegin(); kid != re.kids.rend() && at != -2; ++kid) at = compile(*kid, at);
        return at;
      }
      case Re::Kind::alt: {
        int at = compile(re.kids.back(), next);
        for (std::size_t k = re.kids.size() - 1; k-- > 0 && at != -2;) {
          int branch = compile(re.kids[k], next);
          if (branch == -2) return -2;
          at = add(Node::Kind::split, branch, at);
        }
        return at;
      }
      case Re::Kind::quest: {
        int body = compile(re.kids[0], next);
        return body == -2 ? -2 : add(Node::Kind::split, body, next);
      }
      case Re::Kind::star:
      case Re::Kind::plus: {
        int loop = add(Node::Kind::split, -1, next);
        int body = compile(re.kids[0], loop);
        if (body == -2) return -2;
        nodes[static_cast<std::size_t>(loop)].next = body;
        return re.kind == Re::Kind::star ? loop : body;
      }
      case Re::Kind::repeat: {
        int at = next;
        if (re.max < 0) {
          Re star = make(Re::Kind::star);
          star.kids = re.kids;
          at = compile(star, at);
        } else {
          for (int k = re.min; k < re.max && at != -2; ++k) {
            int body = compile(re.kids[0], at);
            if (body == -2) return -2;
            at = add(Node::Kind::split, body, next);
          }
        }
        for (int k = 0; k < re.min && at != -2; ++k) at = compile(re.kids[0], at);
        return at;
      }
    }
    return -2;
  }
};

struct RegexDfa::Dfa {
  static constexpr std::size_t kMaxStates = 4096;

  struct State {
    std::vector<int> nodes;                    // NFA byte and end nodes live here
    std::vector<std::size_t> matched;          // regexes matched by now (sorted)
    std::vector<std::size_t> matched_at_end;   // and those that match if the name ends here
  };

  const Nfa& nfa;
  std::size_t regexes;
  std::array<uint8_t, 256> classes{};
  std::vector<unsigned char> representative;  // a byte of each class
  std::vector<State> states;
  // Transitions, a row of 2^row_shift slots per state (its classes, padded to a power of two):
  // next[(s << row_shift) + class] is the row of the state it goes to, that is its number shifted
  // (-1: not built yet). A scan then steps with one add and one load per byte, no multiply.
  std::vector<int32_t> next;
  unsigned row_shift = 0;
  std::map<std::pair<std::vector<int>, std::vector<std::size_t>>, int32_t> index;
  int32_t start = -1;
  bool exhausted = false;

  Dfa(const Nfa& n, std::size_t count) : nfa(n), regexes(count) {
    // Byte classes: bytes no regex tells apart share one. Refined set by set: a class
    // splits where a set takes some of its bytes and not others.
    std::array<int, 256> of{};
    int made = 1;
    // A set met before refines nothing more (literals repeat their bytes: `.` in every pattern).
    std::unordered_set<Bytes> refined_by;
    for (const auto& node : nfa.nodes) {
      if (node.kind != Nfa::Node::Kind::bytes || !refined_by.insert(node.set).second) continue;
      std::vector<int> split(static_cast<std::size_t>(made), -1);  // old class -> new class of its bytes in the set
      for (std::size_t b = 0; b < 256; ++b) {
        if (!node.set[b]) continue;
        int& to = split[static_cast<std::size_t>(of[b])];
        if (to < 0) to = made++;
        of[b] = to;
      }
    }
    // Number the classes densely, in byte order, and keep a byte of each.
    std::vector<int> dense(static_cast<std::size_t>(made), -1);
    for (std::size_t b = 0; b < 256; ++b) {
      int& id = dense[static_cast<std::size_t>(of[b])];
      if (id < 0) {
        id = static_cast<int>(representative.size());
        representative.push_back(static_cast<unsigned char>(b));
      }
      classes[b] = static_cast<uint8_t>(id);
    }
    while ((std::size_t{1} << row_shift) < class_count()) ++row_shift;
    // Away from the name's start a search restarts at every byte: every later state holds the
    // closure of the regexes' starts. It is found once, here; make() adds it to what a step's
    // seeds reach without walking it again.
    closure(nfa.starts, false, false, restart_nodes, restart_matched);
    in_restart.assign(nfa.nodes.size(), 0);
    for (std::size_t id = 0; id < nfa.nodes.size(); ++id) in_restart[id] = seen[id] == stamp;
    std::sort(restart_nodes.begin(), restart_nodes.end());
    restart_nodes.erase(std::unique(restart_nodes.begin(), restart_nodes.end()), restart_nodes.end());
    normalize(restart_matched);
    std::vector<std::size_t> none;
    start = make(nfa.starts, none, true);
  }

  std::size_t class_count() const { return representative.size(); }
  int32_t row(int32_t state) const { return state < 0 ? -1 : static_cast<int32_t>(static_cast<uint32_t>(state) << row_shift); }
  int32_t state_of_row(int32_t row) const { return row < 0 ? -1 : row >> row_shift; }

  // Follows empty moves from `seeds`; collects byte and end nodes, and the regexes that match.
  // With `skip_restart`, nodes the restart's closure visits are passed over: what they reach is
  // in restart_nodes and restart_matched already.
  std::vector<uint32_t> seen;  // closure's visited marks: seen[id] == stamp
  uint32_t stamp = 0;
  std::vector<int> stack;
  std::vector<int> restart_nodes;            // byte and end nodes of the restart's closure (sorted)
  std::vector<std::size_t> restart_matched;  // regexes that match the empty string there
  std::vector<char> in_restart;              // per NFA node: visited by the restart's closure

  void closure(const std::vector<int>& seeds, bool at_begin, bool at_end, std::vector<int>& out, std::vector<std::size_t>& matched,
               bool skip_restart = false) {
    if (seen.size() != nfa.nodes.size()) seen.assign(nfa.nodes.size(), 0);
    ++stamp;
    stack.assign(seeds.rbegin(), seeds.rend());
    while (!stack.empty()) {
      int id = stack.back();
      stack.pop_back();
      if (id < 0 || seen[static_cast<std::size_t>(id)] == stamp) continue;
      seen[static_cast<std::size_t>(id)] = stamp;
      if (skip_restart && in_restart[static_cast<std::size_t>(id)]) continue;
      const auto& node = nfa.nodes[static_cast<std::size_t>(id)];
      switch (node.kind) {
        case Nfa::Node::Kind::bytes: out.push_back(id); break;
        case Nfa::Node::Kind::match: matched.push_back(static_cast<std::size_t>(node.regex)); break;
        case Nfa::Node::Kind::split: stack.push_back(node.alt); stack.push_back(node.next); break;
        case Nfa::Node::Kind::epsilon: stack.push_back(node.next); break;
        case Nfa::Node::Kind::begin: if (at_begin) stack.push_back(node.next); break;
        case Nfa::Node::Kind::end:
          if (at_end) stack.push_back(node.next);
          else out.push_back(id);  // waits for the end of the name
          break;
      }
    }
  }

  static void normalize(std::vector<std::size_t>& ids) {
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }

  // The state for `seeds` (with the regex starts added away from the name's start: a search
  // restarts everywhere). A state away from the start is known by what it holds beyond the
  // restart's closure, which every such state holds.
  int32_t make(const std::vector<int>& seeds, std::vector<std::size_t> matched, bool at_begin) {
    std::vector<int> nodes;
    closure(seeds, at_begin, false, nodes, matched, !at_begin);
    if (!at_begin) matched.insert(matched.end(), restart_matched.begin(), restart_matched.end());
    std::sort(nodes.begin(), nodes.end());
    nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
    normalize(matched);
    if (at_begin) nodes.push_back(-1);  // the first position: `^` still holds, a state of its own
    auto key = std::pair{std::move(nodes), std::move(matched)};
    if (auto found = index.find(key); found != index.end()) return found->second;
    if (states.size() >= kMaxStates) {
      exhausted = true;
      return -1;
    }
    State state{{}, key.second, key.second};
    if (at_begin) {
      state.nodes.assign(key.first.begin(), key.first.end() - 1);
    } else {
      state.nodes.reserve(key.first.size() + restart_nodes.size());
      std::merge(key.first.begin(), key.first.end(), restart_nodes.begin(), restart_nodes.end(), std::back_inserter(state.nodes));
    }
    std::vector<int> ends;
    for (int id : state.nodes)
      if (nfa.nodes[static_cast<std::size_t>(id)].kind == Nfa::Node::Kind::end) ends.push_back(nfa.nodes[static_cast<std::size_t>(id)].next);
    std::vector<int> ignored;
    closure(ends, at_begin, true, ignored, state.matched_at_end);
    normalize(state.matched_at_end);
    states.push_back(std::move(state));
    next.resize(states.size() << row_shift, -1);
    auto id = static_cast<int32_t>(states.size() - 1);
    index.emplace(std::move(key), id);
    return id;
  }

  // Out of line: a scan calls it only for a transition not built yet, and inlined into the scan's
  // loop it leaves the loop no registers for its own values.
  [[gnu::noinline]] int32_t step(int32_t from_row, unsigned char byte) {
    std::size_t slot = static_cast<std::size_t>(from_row) + classes[byte];
    if (next[slot] >= 0) return next[slot];
    const State& from = states[static_cast<std::size_t>(state_of_row(from_row))];
    unsigned char b = representative[classes[byte]];
    std::vector<int> seeds;
    for (int id : from.nodes) {
      const auto& node = nfa.nodes[static_cast<std::size_t>(id)];
      if (node.kind == Nfa::Node::Kind::bytes && node.set[b]) seeds.push_back(node.next);
    }
    int32_t to = row(make(seeds, from.matched, false));  // may grow `states` and `next`
    if (to >= 0) next[slot] = to;
    return to;
  }
};

RegexDfa::RegexDfa() : nfa_(std::make_unique<Nfa>()) {}
RegexDfa::~RegexDfa() = default;
RegexDfa::RegexDfa(RegexDfa&&) noexcept = default;

bool RegexDfa::add(std::string_view pattern, std::size_t id) {
  auto parsed = Parser(pattern).parse();
  if (!parsed) return false;
  std::size_t before = nfa_->nodes.size();
  int accept = nfa_->add(Nfa::Node::Kind::match, -1);
  nfa_->nodes[static_cast<std::size_t>(accept)].regex = static_cast<int>(ids_.size());
  int begin = nfa_->compile(*parsed, accept);
  if (begin == -2) {
    nfa_->nodes.resize(before);
    return false;
  }
  nfa_->starts.push_back(begin);
  ids_.push_back(id);
  dfa_.reset();
  return true;
}

std::size_t RegexDfa::states() const { return dfa_ ? dfa_->states.size() : 0; }

bool RegexDfa::Scanner::match(std::string_view subject, std::vector<std::size_t>& found) {
  int32_t state = end_state(subject);
  if (state < 0) return false;
  for (std::size_t regex : dfa_.dfa_->states[static_cast<std::size_t>(state)].matched_at_end) found.push_back(dfa_.ids_[regex]);
  return true;
}

std::vector<std::size_t> RegexDfa::matched(int32_t state) const {
  std::vector<std::size_t> out;
  for (std::size_t regex : dfa_->states[static_cast<std::size_t>(state)].matched_at_end) out.push_back(ids_[regex]);
  return out;
}

int32_t RegexDfa::Scanner::end_state(std::string_view subject) {
  std::string_view previous = previous_;
  previous_ = subject;
  std::size_t shared = common_prefix(subject, previous);
  RegexDfa& owner = dfa_;
  if (!owner.dfa_) {
    owner.dfa_ = std::make_unique<Dfa>(*owner.nfa_, owner.ids_.size());
    known_ = 0;
  }
  Dfa& dfa = *owner.dfa_;
  if (dfa.exhausted || dfa.start < 0) return -1;
  // rows_[k]: the row of the state after k bytes. Slots are written by index (this loop is a third
  // of a 92k-name evaluation) into a list that only grows; known_ is cut back to what was read
  // where the scan stops early.
  if (rows_.size() < subject.size() + 1) rows_.resize(subject.size() + 1);
  if (known_ == 0) {
    rows_[0] = dfa.row(dfa.start);
    known_ = 1;
  }
  std::size_t k = std::min(shared + 1, known_) - 1;
  int32_t row = rows_[k];
  // What the loop reads, in locals: through the members, the compiler reloads each at every byte
  // (a store to rows_ might have changed them). Only step() changes one: it may grow `next`.
  const std::size_t size = subject.size();
  const uint8_t* class_of = dfa.classes.data();
  const int32_t* next = dfa.next.data();
  const char* bytes = subject.data();
  int32_t* after = rows_.data() + 1;
  for (; k < size; ++k) {
    auto byte = static_cast<unsigned char>(bytes[k]);
    if (byte >= 0x80) break;  // the states up to here stay right
    int32_t to = next[static_cast<std::size_t>(row) + class_of[byte]];
    if (to < 0) {
      to = dfa.step(row, byte);
      next = dfa.next.data();
      if (to < 0) break;
    }
    row = to;
    after[k] = row;
  }
  known_ = k + 1;
  return k < size ? -1 : dfa.state_of_row(row);
}

}  // namespace taxon
