// The plan steps that make tensors: tensor actions, and split, fuse, stack
// and unstack. Each checks shapes and dtypes here, against names and shapes
// only, so a plan that cannot work fails before any byte is read.
#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "engine/plans/plan_runner.hpp"
#include "engine/plans/tensor_actions.hpp"

namespace taxon::detail {
namespace {

// A dim option for a tensor with `rank` dims (negative counts from the end).
std::optional<std::size_t> normalize_dim(int64_t dim, std::size_t rank) {
  auto r = static_cast<int64_t>(rank);
  if (dim < 0) dim += r;
  if (dim < 0 || dim >= r) return std::nullopt;
  return static_cast<std::size_t>(dim);
}

}  // namespace

void PlanRunner::surgery_error(const SourceSpan& span, std::string message, std::string hint) {
  result_.diagnostics.error(code::plan_surgery, span, std::move(message), std::move(hint));
}

void PlanRunner::apply(const step::Transform& s, const SourceSpan& span) {
  // Takes effect here: later steps (skip mismatched) see the shape it produces.
  result_.transforms.push_back(&s);
  for (std::size_t i : select(s.where, span)) {
    Entry& entry = entries_[i];
    const TensorRecord* target = target_of(entry.name);
    std::optional<std::vector<int64_t>> target_shape;
    if (target) target_shape = target->shape.to_vector();
    ActionOutcome outcome = action_outcome(s.action, s.options, entry.recipe->shape, entry.recipe->dtype,
                                           target_shape ? &*target_shape : nullptr);
    if (outcome.needs_target) {
      result_.diagnostics.error(code::plan_no_target_shape, span,
                                fmt::format("`{} {}` on \"{}\" needs the shape to produce, and {}", s.verb, s.action, entry.name,
                                            target_ ? "the target has no such key" : "no --target was given"),
                                outcome.hint);
      continue;
    }
    if (!outcome.error.empty()) {
      surgery_error(span, fmt::format("`{} {}` on \"{}\": {}", s.verb, s.action, entry.name, outcome.error), outcome.hint);
      continue;
    }
    if (outcome.unchanged) continue;
    Recipe::Op op = s.action == "transpose" ? Recipe::Op::transpose
                    : s.action == "reshape" ? Recipe::Op::reshape
                                            : Recipe::Op::action;
    auto recipe = make_recipe(op, {entry.recipe}, outcome.args, outcome.shape, outcome.dtype);
    if (op == Recipe::Op::action) recipe->action = &s;
    entry.actions.push_back({&s, entry.recipe->shape, outcome.shape});
    entry.recipe = std::move(recipe);
  }
}

void PlanRunner::apply(const step::Split& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  std::vector<std::vector<std::size_t>> consumed;
  std::vector<std::vector<Entry>> made;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    re2::StringPiece subject(entry.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    std::vector<std::string> names;
    for (const auto& output : s.outputs) {
      auto name = rendered_name(entry, output, *re, groups, span);
      if (!name) return;
      names.push_back(*name);
    }
    const auto& shape = entry.recipe->shape;
    auto dim = normalize_dim(s.dim, shape.size());
    if (!dim)
      return surgery_error(span, fmt::format("split \"{}\" {} along dim {}: it has no such dim", entry.name, shape_text(shape), s.dim));
    std::vector<int64_t> sizes = s.sizes;
    std::string how = "`sizes`";
    if (sizes.empty()) {
      bool from_target = true;
      for (const auto& name : names) {
        const TensorRecord* part = target_of(name);
        if (!part || part->shape.size() != shape.size()) {
          from_target = false;
          break;
        }
        sizes.push_back(part->shape[*dim]);
      }
      how = "the target's shapes";
      if (!from_target) {
        auto parts = static_cast<int64_t>(names.size());
        if (shape[*dim] % parts != 0)
          return surgery_error(span,
                               fmt::format("split \"{}\" {}: {} does not divide into {} equal parts", entry.name, shape_text(shape),
                                           shape[*dim], parts),
                               "give `sizes = [...]`, or a --target holding the parts");
        sizes.assign(names.size(), shape[*dim] / parts);
        how = "equal parts";
      }
    }
    if (sizes.size() != names.size() || std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) != shape[*dim] ||
        std::any_of(sizes.begin(), sizes.end(), [](int64_t size) { return size <= 0; }))
      return surgery_error(span, fmt::format("split \"{}\" {} into {} parts of [{}] ({}): the sizes must be positive and add up "
                                             "to {}",
                                             entry.name, shape_text(shape), names.size(), fmt::join(sizes, ", "), how, shape[*dim]));
    std::vector<Entry> parts;
    int64_t start = 0;
    for (std::size_t k = 0; k < names.size(); ++k) {
      std::vector<int64_t> part_shape = shape;
      part_shape[*dim] = sizes[k];
      auto recipe = make_recipe(Recipe::Op::narrow, {entry.recipe}, {static_cast<int64_t>(*dim), start, sizes[k]},
                                std::move(part_shape), entry.recipe->dtype);
      parts.push_back(Entry{names[k], entry.input, true, std::move(recipe), {}});
      start += sizes[k];
    }
    result_.surgery.push_back({"split", {entry.name}, names});
    consumed.push_back({i});
    made.push_back(std::move(parts));
  }
  replace(consumed, std::move(made));
  check_collisions(span, false);
}

void PlanRunner::apply(const step::Fuse& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  std::map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < entries_.size(); ++i) by_name.emplace(entries_[i].name, i);
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  std::vector<std::vector<std::size_t>> consumed;
  std::vector<std::vector<Entry>> made;
  std::set<std::size_t> used;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& first = entries_[i];
    re2::StringPiece subject(first.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    std::vector<std::size_t> members{i};
    for (const auto& other : s.others) {
      auto name = rendered_name(first, other, *re, groups, span);
      if (!name) return;
      auto found = by_name.find(*name);
      if (found == by_name.end())
        return surgery_error(span, fmt::format("fuse: \"{}\" matches, but its part \"{}\" is not among the keys", first.name, *name),
                             "every part must be there; `taxon dump` lists the keys");
      members.push_back(found->second);
    }
    auto output = rendered_name(first, s.output, *re, groups, span);
    if (!output) return;
    std::vector<std::string> names;
    for (std::size_t m : members) {
      if (!used.insert(m).second)
        return surgery_error(span, fmt::format("fuse: \"{}\" would be fused twice", entries_[m].name),
                             "anchor the regex so that it finds the first part only");
      names.push_back(entries_[m].name);
    }
    const auto& shape = first.recipe->shape;
    auto dim = normalize_dim(s.dim, shape.size());
    if (!dim)
      return surgery_error(span, fmt::format("fuse \"{}\" {} along dim {}: it has no such dim", first.name, shape_text(shape), s.dim));
    std::vector<int64_t> fused = shape;
    fused[*dim] = 0;
    std::vector<RecipePtr> parts;
    for (std::size_t m : members) {
      const Recipe& part = *entries_[m].recipe;
      bool fits = part.shape.size() == shape.size() && part.dtype == first.recipe->dtype;
      for (std::size_t d = 0; fits && d < shape.size(); ++d) fits = d == *dim || part.shape[d] == shape[d];
      if (!fits)
        return surgery_error(span, fmt::format("fuse along dim {}: \"{}\" is {} {} and \"{}\" is {} {}", *dim, first.name,
                                               first.recipe->dtype, shape_text(shape), entries_[m].name, part.dtype,
                                               shape_text(part.shape)),
                             "parts are fused when they agree in dtype and in every other dim");
      fused[*dim] += part.shape[*dim];
      parts.push_back(entries_[m].recipe);
    }
    auto recipe = make_recipe(Recipe::Op::concat, std::move(parts), {static_cast<int64_t>(*dim)}, std::move(fused),
                              first.recipe->dtype);
    result_.surgery.push_back({"fuse", names, {*output}});
    consumed.push_back(members);
    made.push_back({Entry{*output, first.input, true, std::move(recipe), {}}});
  }
  replace(consumed, std::move(made));
  check_collisions(span, false);
}

void PlanRunner::apply(const step::Stack& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  auto index_group = re->NamedCapturingGroups().find("index");
  if (index_group == re->NamedCapturingGroups().end())
    return surgery_error(span, fmt::format("stack /{}/ has no capture named `index`", s.pattern),
                         "capture the position with (?P<index>\\d+), e.g. /experts\\.(?P<index>\\d+)\\.w1/");
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  std::vector<std::string> outputs;  // in order of first appearance
  std::map<std::string, std::vector<std::pair<int64_t, std::size_t>>> members;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    re2::StringPiece subject(entry.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    std::string index_text(groups[static_cast<std::size_t>(index_group->second)]);
    char* end = nullptr;
    long long index = std::strtoll(index_text.c_str(), &end, 10);
    if (index_text.empty() || *end != '\0')
      return surgery_error(span, fmt::format("stack: \"{}\" has index \"{}\", which is not a number", entry.name, index_text),
                           "capture digits only: (?P<index>\\d+)");
    auto output = rendered_name(entry, s.output, *re, groups, span);
    if (!output) return;
    if (!members.contains(*output)) outputs.push_back(*output);
    members[*output].emplace_back(index, i);
  }
  std::vector<std::vector<std::size_t>> consumed;
  std::vector<std::vector<Entry>> made;
  for (const auto& output : outputs) {
    auto& group = members[output];
    std::sort(group.begin(), group.end());
    for (std::size_t k = 0; k < group.size(); ++k) {
      if (group[k].first == static_cast<int64_t>(k)) continue;
      if (k > 0 && group[k].first == group[k - 1].first)
        return surgery_error(span, fmt::format("stack into \"{}\": \"{}\" and \"{}\" both have index {}", output,
                                               entries_[group[k - 1].second].name, entries_[group[k].second].name, group[k].first),
                             "the output template must tell them apart");
      return surgery_error(span, fmt::format("stack into \"{}\": index {} is missing ({} tensors found)", output, k, group.size()),
                           "a stacked tensor needs every index from 0; was one dropped or renamed?");
    }
    const Entry& first = entries_[group[0].second];
    const auto& shape = first.recipe->shape;
    auto dim = normalize_dim(s.dim, shape.size() + 1);
    if (!dim)
      return surgery_error(span, fmt::format("stack {} tensors of shape {} along dim {}: no such dim", group.size(), shape_text(shape), s.dim));
    std::vector<RecipePtr> parts;
    std::vector<std::string> names;
    std::vector<std::size_t> indices;
    for (const auto& [index, i] : group) {
      const Recipe& part = *entries_[i].recipe;
      if (part.shape != shape || part.dtype != first.recipe->dtype)
        return surgery_error(span, fmt::format("stack into \"{}\": \"{}\" is {} {} and \"{}\" is {} {}", output, first.name,
                                               first.recipe->dtype, shape_text(shape), entries_[i].name, part.dtype,
                                               shape_text(part.shape)),
                             "stacked tensors agree in shape and dtype");
      parts.push_back(entries_[i].recipe);
      names.push_back(entries_[i].name);
      indices.push_back(i);
    }
    std::vector<int64_t> stacked = shape;
    stacked.insert(stacked.begin() + static_cast<std::ptrdiff_t>(*dim), static_cast<int64_t>(group.size()));
    auto recipe = make_recipe(Recipe::Op::stack, std::move(parts), {static_cast<int64_t>(*dim)}, std::move(stacked),
                              first.recipe->dtype);
    result_.surgery.push_back({"stack", std::move(names), {output}});
    consumed.push_back(std::move(indices));
    made.push_back({Entry{output, first.input, true, std::move(recipe), {}}});
  }
  replace(consumed, std::move(made));
  check_collisions(span, false);
}

void PlanRunner::apply(const step::Unstack& s, const SourceSpan& span) {
  auto re = regex(s.pattern, span);
  if (!re) return;
  std::vector<re2::StringPiece> groups(static_cast<std::size_t>(re->NumberOfCapturingGroups()) + 1);
  std::vector<std::vector<std::size_t>> consumed;
  std::vector<std::vector<Entry>> made;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& entry = entries_[i];
    re2::StringPiece subject(entry.name);
    if (!re->Match(subject, 0, subject.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) continue;
    const auto& shape = entry.recipe->shape;
    auto dim = normalize_dim(s.dim, shape.size());
    if (!dim)
      return surgery_error(span, fmt::format("unstack \"{}\" {} along dim {}: it has no such dim", entry.name, shape_text(shape), s.dim));
    std::vector<int64_t> part_shape = shape;
    part_shape.erase(part_shape.begin() + static_cast<std::ptrdiff_t>(*dim));
    std::vector<Entry> parts;
    std::vector<std::string> names;
    for (int64_t k = 0; k < shape[*dim]; ++k) {
      auto name = rendered_name(entry, replace_all(s.output, "${index}", std::to_string(k)), *re, groups, span);
      if (!name) return;
      names.push_back(*name);
      parts.push_back(Entry{*name, entry.input, true,
                            make_recipe(Recipe::Op::select, {entry.recipe}, {static_cast<int64_t>(*dim), k}, part_shape,
                                        entry.recipe->dtype),
                            {}});
    }
    result_.surgery.push_back({"unstack", {entry.name}, std::move(names)});
    consumed.push_back({i});
    made.push_back(std::move(parts));
  }
  replace(consumed, std::move(made));
  check_collisions(span, false);
}

}  // namespace taxon::detail
