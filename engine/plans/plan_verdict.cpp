// The load verdict: what PyTorch's load_state_dict would say of a plan's
// result in the target model, decided over names and shapes before any byte
// moves. PyTorch refuses a tensor of another shape whatever `strict` says, and a
// load that takes nothing is a failure even when nothing is "missing" by rule.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/diagnostic.hpp"
#include "engine/plans/plan.hpp"

namespace taxon {
namespace {

// The prefix that, put in front of names on one side, most often gives names
// on the other: the `strip`/`prefix` line a plan lacks. Only whole dotted
// components count ("module.", "model.backbone.").
std::optional<std::pair<std::string, std::size_t>> common_extra_prefix(const std::vector<std::string>& longer,
                                                                       const std::unordered_set<std::string_view>& shorter) {
  std::unordered_map<std::string_view, std::size_t> counts;
  for (const auto& name : longer) {
    std::string_view view(name);
    for (std::size_t dot = view.find('.'); dot != std::string_view::npos && dot + 1 < view.size(); dot = view.find('.', dot + 1))
      if (shorter.contains(view.substr(dot + 1))) ++counts[view.substr(0, dot + 1)];
  }
  std::optional<std::pair<std::string, std::size_t>> best;
  for (const auto& [prefix, count] : counts)
    if (!best || count > best->second || (count == best->second && prefix < best->first)) best.emplace(std::string(prefix), count);
  return best;
}

std::string wrapper_hint(const std::vector<std::string>& produced_only, const std::vector<std::string>& missing) {
  std::unordered_set<std::string_view> missing_set(missing.begin(), missing.end());
  std::unordered_set<std::string_view> produced_set(produced_only.begin(), produced_only.end());
  auto strip = common_extra_prefix(produced_only, missing_set);
  auto add = common_extra_prefix(missing, produced_set);
  if (strip && (!add || strip->second >= add->second))
    return fmt::format("{} of the keys the target lacks are its missing keys with \"{}\" in front: add `strip \"{}\"`",
                       strip->second == produced_only.size() ? std::string("all") : std::to_string(strip->second),
                       strip->first, strip->first);
  if (add)
    return fmt::format("{} of the target's missing keys are keys of the result with \"{}\" in front: add `prefix \"{}\"`",
                       add->second == missing.size() ? std::string("all") : std::to_string(add->second), add->first,
                       add->first);
  return {};
}

// Finds the target's missing names nearest to a stray key: its neighbours in
// sorted order (sharing the longest prefix) and in sorted reversed order
// (sharing the longest suffix: a renamed trunk), ranked by edit distance.
// O(n log n) overall, however many names there are.
class NearestNames {
 public:
  explicit NearestNames(const std::vector<std::string>& names) : forward_(names) {
    std::sort(forward_.begin(), forward_.end());
    for (const auto& name : names) backward_.emplace_back(name.rbegin(), name.rend());
    std::sort(backward_.begin(), backward_.end());
  }

  std::vector<std::string> operator()(const std::string& name) const {
    std::vector<std::pair<std::size_t, std::string>> ranked;
    auto consider = [&](const std::vector<std::string>& sorted, const std::string& key, bool reversed) {
      auto at = std::lower_bound(sorted.begin(), sorted.end(), key) - sorted.begin();
      for (auto i = std::max<std::ptrdiff_t>(0, at - kWindow); i < std::min<std::ptrdiff_t>(std::ssize(sorted), at + kWindow); ++i) {
        const std::string& found = sorted[static_cast<std::size_t>(i)];
        std::string candidate = reversed ? std::string(found.rbegin(), found.rend()) : found;
        ranked.emplace_back(edit_distance(name, candidate), std::move(candidate));
      }
    };
    consider(forward_, name, false);
    consider(backward_, std::string(name.rbegin(), name.rend()), true);
    std::sort(ranked.begin(), ranked.end());
    ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
    std::vector<std::string> out;
    std::size_t limit = std::max<std::size_t>(3, name.size() / 3);
    for (const auto& [distance, candidate] : ranked)
      if (distance <= limit && distance == ranked.front().first && out.size() < 2) out.push_back(candidate);
    return out;
  }

 private:
  static constexpr std::ptrdiff_t kWindow = 4;
  std::vector<std::string> forward_, backward_;
};

}  // namespace

void judge_load(PlanResult& result, const TensorTable& target, const std::vector<std::string>& made) {
  std::unordered_map<std::string_view, const TensorRecord*> produced;
  for (const auto& key : result.keys) produced.emplace(key.name, nullptr);
  std::unordered_map<std::string_view, const TensorRecord*> wanted;
  for (const auto& record : target.tensors) {
    // A strict load ignores non-persistent buffers, and a tied name is not missing while its partner is loaded.
    if (record.kind == TensorKind::buffer && !record.persistent) continue;
    wanted.emplace(record.name, &record);
    if (produced.contains(record.name)) continue;
    if (record.tied_to && produced.contains(target.tensors[*record.tied_to].name)) continue;
    result.missing.emplace_back(record.name);
  }
  for (const auto& key : result.keys) {
    auto found = wanted.find(key.name);
    if (found == wanted.end()) {
      result.unexpected.push_back(key.name);
    } else if (found->second->shape != key.recipe->shape) {
      result.mismatched.push_back({key.name, key.recipe->shape, found->second->shape.to_vector()});
    } else {
      ++result.verdict.loaded;
    }
  }

  NearestNames nearest(result.missing);
  std::unordered_set<std::string_view> made_set(made.begin(), made.end());
  auto add_strays = [&](const std::vector<std::string>& names) {
    for (const auto& name : names)
      if (made_set.contains(name)) result.strays.push_back({name, nearest(name)});
  };
  add_strays(result.unexpected);
  add_strays(result.not_in_target);

  auto& verdict = result.verdict;
  if (!result.mismatched.empty())
    verdict.reasons.push_back(fmt::format("{} key{} of another shape in the target (PyTorch refuses {} whatever `strict` says)",
                                          result.mismatched.size(), result.mismatched.size() == 1 ? "" : "s",
                                          result.mismatched.size() == 1 ? "it" : "them"));
  if (!wanted.empty() && verdict.loaded == 0)
    verdict.reasons.push_back(fmt::format("nothing would be loaded: none of the result's {} keys is in the target with its shape",
                                          result.keys.size()));
  if (result.strict && (!result.missing.empty() || !result.unexpected.empty()))
    verdict.reasons.push_back(fmt::format("{} missing and {} unexpected under `load strict = true`", result.missing.size(),
                                          result.unexpected.size()));
  verdict.load_fails = !verdict.reasons.empty();
  if (!verdict.load_fails) return;

  std::vector<std::string> produced_only = result.unexpected;
  produced_only.insert(produced_only.end(), result.not_in_target.begin(), result.not_in_target.end());
  verdict.hint = wrapper_hint(produced_only, result.missing);
  if (!verdict.hint.empty()) return;
  if (!result.mismatched.empty())
    verdict.hint = "add `skip mismatched` to leave them out (the model keeps its own values), or a step that gives them the "
                   "target's shape (resize, resample, transform)";
  else if (!result.strays.empty() && !result.strays.front().closest.empty())
    verdict.hint = fmt::format("\"{}\" was made by a step, and the target has \"{}\": check the rename's template",
                               result.strays.front().name, result.strays.front().closest.front());
  else if (verdict.loaded > 0)
    verdict.hint = "add `load strict = false` to the plan, or steps that produce the missing keys";
  else
    verdict.hint = "check that the checkpoint is for this model, and which entry holds its state dict (`from`, --source)";
}

}  // namespace taxon
