// JSON written member by member into a string, laid out exactly as nlohmann::json's dump(indent)
// lays out the same document: reports with a name per tensor are never held as a tree (a tree of
// 100k names costs more than the evaluation that made them).
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/json_scan.hpp"
#include "runtime/json_string.hpp"

namespace taxon {

class JsonStream {
 public:
  // Where text goes when it is written in pieces.
  using Write = std::function<void(std::string_view)>;

  explicit JsonStream(std::string& out, int indent = 2) : out_(out), width_(static_cast<std::size_t>(indent)) {}
  // Hands `out` to `write` whenever it holds kPiece bytes or more (and on flush()), then clears it.
  JsonStream(std::string& out, Write write, int indent = 2) : JsonStream(out, indent) { write_ = std::move(write); }
  void flush() {
    if (!write_) return;
    if (!out_.empty()) write_(out_);
    out_.clear();
  }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  // An object's member name; its value follows.
  void key(std::string_view name) {
    next();
    quoted(name);
    out_ += ": ";
    keyed_ = true;
  }
  void string(std::string_view text) {
    // The common case, an array's element that needs no escape (a tensor name in a list of
    // 100k), written in one piece: separator, indentation, the quoted text.
    const char* end = text.data() + text.size();
    if (!keyed_ && !levels_.empty() && plain_json_run(text.data(), end, true) == end) {
      if (write_ && out_.size() >= kPiece) flush();
      std::string_view separator = levels_.back()++ ? ",\n" : "\n";
      std::size_t indent = width_ * levels_.size(), at = out_.size();
      out_.resize(at + separator.size() + indent + text.size() + 2);
      char* to = out_.data() + at;
      to = std::copy(separator.begin(), separator.end(), to);
      to = std::fill_n(to, indent, ' ');
      *to++ = '"';
      to = std::copy(text.begin(), text.end(), to);
      *to = '"';
      return;
    }
    next();
    quoted(text);
  }
  // A small value built as a tree (a diagnostic, an option's value), dumped in place.
  void value(const nlohmann::ordered_json& small) {
    next();
    std::string text = small.dump(static_cast<int>(width_));
    std::string indent(1 + width_ * levels_.size(), ' ');
    indent[0] = '\n';
    for (char c : text) {
      if (c == '\n') out_ += indent;
      else out_ += c;
    }
  }

 private:
  // Before a value: the separator and indentation an array element needs (a member's were
  // written with its key).
  void next() {
    if (write_ && out_.size() >= kPiece) flush();
    if (keyed_) {
      keyed_ = false;
      return;
    }
    if (levels_.empty()) return;
    out_ += levels_.back()++ ? ",\n" : "\n";
    out_.append(width_ * levels_.size(), ' ');
  }
  void open(char bracket) {
    next();
    out_ += bracket;
    levels_.push_back(0);
  }
  void close(char bracket) {
    bool empty = levels_.back() == 0;
    levels_.pop_back();
    if (!empty) {
      out_ += '\n';
      out_.append(width_ * levels_.size(), ' ');
    }
    out_ += bracket;
  }
  void quoted(std::string_view text) {
    std::size_t mark = out_.size();
    if (append_json_string(out_, text)) return;
    out_.resize(mark);
    out_ += nlohmann::ordered_json(std::string(text)).dump();  // throws as a tree's dump() would: not UTF-8
  }

  static constexpr std::size_t kPiece = std::size_t{64} << 10;

  std::string& out_;
  Write write_;
  std::size_t width_;                // spaces per level
  std::vector<std::size_t> levels_;  // members or elements written so far, per open container
  bool keyed_ = false;
};

}  // namespace taxon
