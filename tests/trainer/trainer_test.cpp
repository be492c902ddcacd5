// The trainer API on real LibTorch modules: what rules see of a module and of
// a TorchScript module, groups and freezing for torch::optim, and loading a
// real checkpoint into a module in place.
// LibTorch first: it brings glog, whose CHECK macros doctest's replace.
#include <torch/script.h>
#include <torch/torch.h>
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LT
#undef CHECK_LE
#undef CHECK_GT
#undef CHECK_GE
#include <doctest/doctest.h>

#include <cstring>
#include <map>

#include "runtime/checkpoint.hpp"
#include "taxon/trainer.hpp"

using namespace taxon;

namespace {

const std::string kRoot = TAXON_SOURCE_DIR;

// A module tree with a parameter at each of `tensors`' names and shapes.
std::shared_ptr<torch::nn::Module> module_for(const std::vector<ModelTensor>& tensors) {
  auto root = std::make_shared<torch::nn::Module>("LlamaForCausalLM");
  for (const auto& tensor : tensors) {
    torch::nn::Module* at = root.get();
    std::string path = tensor.name;
    for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.')) {
      std::string part = path.substr(0, dot);
      path.erase(0, dot + 1);
      auto children = at->named_children();
      if (!children.contains(part)) at->register_module(part, std::make_shared<torch::nn::Module>("Sub"));
      at = at->named_children()[part].get();
    }
    at->register_parameter(path, torch::zeros(tensor.shape));
  }
  return root;
}

std::vector<float> floats(const torch::Tensor& tensor) {
  torch::Tensor flat = tensor.to(torch::kFloat).contiguous().view(-1);
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

}  // namespace

TEST_CASE("describe: names - shapes - owning module classes - buffers and ties of a LibTorch module") {
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::BatchNorm1d(8), torch::nn::Linear(8, 4));
  Model model = TrainerRules::describe(*net);
  std::vector<ModelTensor> tensors = model.tensors();
  std::map<std::string, const ModelTensor*> by_name;
  for (const auto& tensor : tensors) by_name[tensor.name] = &tensor;
  REQUIRE(by_name.contains("0.weight"));
  CHECK(by_name["0.weight"]->module_type == "Linear");
  CHECK(by_name["0.weight"]->module == "0");
  CHECK(by_name["0.weight"]->shape == std::vector<int64_t>{8, 4});
  CHECK(by_name["0.weight"]->kind == "parameter");
  CHECK(by_name["1.running_mean"]->kind == "buffer");
  CHECK_FALSE(by_name["1.running_mean"]->requires_grad);
  CHECK(by_name["1.num_batches_tracked"]->dtype == "int64");
  CHECK(by_name["1.weight"]->module_type == "BatchNorm1d");
  std::vector<ModelModule> modules = model.modules();
  REQUIRE(modules.size() == 4);
  CHECK(modules[0].path == "");
  CHECK(modules[0].type == "Sequential");
  CHECK(modules[3].path == "2");
  CHECK(modules[3].type == "Linear");
}

TEST_CASE("describe: a tie is marked on its second name") {
  struct Tied : torch::nn::Module {
    Tied() {
      torch::Tensor shared = torch::randn({10, 4});  // an embedding and a head that share weights
      register_module("embed", std::make_shared<torch::nn::Module>())->register_parameter("weight", shared);
      register_module("head", std::make_shared<torch::nn::Module>())->register_parameter("weight", shared);
    }
  };
  Tied net;
  std::map<std::string, std::string> tied;
  for (const auto& tensor : TrainerRules::describe(net).tensors()) tied[tensor.name] = tensor.tied_to;
  CHECK(tied.at("embed.weight") == "");
  CHECK(tied.at("head.weight") == "embed.weight");
}

TEST_CASE("assign: freezing - groups and per-tensor learning rates for torch::optim") {
  torch::nn::Sequential net(torch::nn::Linear(4, 8), torch::nn::LayerNorm(torch::nn::LayerNormOptions({8})), torch::nn::Linear(8, 8),
                            torch::nn::Linear(8, 2));
  TrainerRules rules(kRoot + "/tests/data/trainer/sequential.tx");
  TrainerGroups groups = rules.assign(*net);
  CHECK(groups.frozen == std::vector<std::string>{"0.weight", "0.bias"});
  CHECK_FALSE(net[0]->as<torch::nn::Linear>()->weight.requires_grad());
  std::map<std::string, std::size_t> sizes;
  for (const auto& group : groups.groups) sizes[group.name] = group.parameters.size();
  // Layer-wise decay by index splits `linear` into one group per layer: lr_mult = 0.5 ** (3 - i). Frozen
  // parameters (0.weight, 0.bias) are in no group, as evaluation reports them: no_decay has 4 of its 5,
  // and linear[lr_mult=0.125], which would hold only 0.weight, is not there.
  CHECK(sizes == std::map<std::string, std::size_t>{{"no_decay", 4}, {"linear[lr_mult=0.5]", 1}, {"linear[lr_mult=1]", 1},
                                                     {"DEFAULT", 0}});
  torch::optim::AdamWOptions defaults(0.1);
  auto param_groups = groups.optimizer_groups(defaults);
  std::vector<double> lrs, decays;
  for (auto& group : param_groups) {
    lrs.push_back(static_cast<torch::optim::AdamWOptions&>(group.options()).lr());
    decays.push_back(static_cast<torch::optim::AdamWOptions&>(group.options()).weight_decay());
  }
  // Only trainable parameters reach the optimizer, and only groups that hold one.
  REQUIRE(param_groups.size() == 3);
  CHECK(param_groups[0].params().size() == 4);
  CHECK(lrs == std::vector<double>{0.1, 0.1 * 0.5, 0.1});
  CHECK(decays == std::vector<double>{0.0, 0.05, 0.05});
  torch::optim::AdamW optimizer(param_groups, defaults);  // torch accepts them
  CHECK(optimizer.param_groups().size() == 3);
}

TEST_CASE("load: a DDP checkpoint into a module in place - byte for byte - a strict failure changes nothing") {
  Checkpoint checkpoint = read_checkpoint(kRoot + "/tests/data/ckpt/llama_tiny/state_dict.pt");
  std::vector<ModelTensor> names = Model::from_checkpoint(kRoot + "/tests/data/ckpt/llama_tiny/state_dict.pt").tensors();
  auto module = module_for(names);
  TrainerRules rules(kRoot + "/tests/data/plans/trainer_load.tx");
  LoadReport report = rules.load(*module, {kRoot + "/tests/data/ckpt/llama_tiny/ddp.pt"}, "unwrap_ddp");
  CHECK(report.loaded == names.size());
  CHECK(report.plan.missing.empty());
  CHECK(report.plan.keys.size() == names.size());
  CHECK(TrainerRules::describe(report).starts_with("loaded "));
  CHECK(report.text.find("unwrap_ddp") != std::string::npos);
  auto parameters = module->named_parameters();
  for (std::size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    CAPTURE(checkpoint.tensors[i].name);
    std::vector<uint8_t> bytes = checkpoint.tensors[i].data.contiguous_bytes();
    torch::Tensor loaded = parameters[checkpoint.tensors[i].name].contiguous();
    REQUIRE(static_cast<std::size_t>(loaded.numel() * loaded.element_size()) == bytes.size());
    CHECK(std::memcmp(loaded.data_ptr(), bytes.data(), bytes.size()) == 0);
  }
  // Without the prefix stripped every key is unexpected: nothing is copied.
  auto fresh = module_for(names);
  std::string message;
  try {
    rules.load(*fresh, {kRoot + "/tests/data/ckpt/llama_tiny/ddp.pt"}, "strict_as_is");
  } catch (const TrainerError& error) {
    message = error.what();
  }
  CHECK(message.find("nothing would be loaded") != std::string::npos);
  CHECK(message.find("add `strip \"module.\"`") != std::string::npos);  // the hint, computed from the names
  for (const auto& item : fresh->named_parameters()) CHECK(floats(item.value()) == std::vector<float>(item.value().numel(), 0.0f));
}

TEST_CASE("a TorchScript module: module classes from its types - and freezing") {
  torch::jit::Module scripted = torch::jit::load(kRoot + "/tests/data/trainer/scripted_tiny.pt");
  std::map<std::string, std::string> types;
  for (const auto& tensor : TrainerRules::describe(scripted).tensors()) types[tensor.name] = tensor.module_type;
  CHECK(types["embed.weight"] == "Linear");
  CHECK(types["blocks.1.norm.weight"] == "LayerNorm");
  CHECK(types["scale"] == "TinyNet");
  TrainerRules rules(kRoot + "/tests/data/trainer/scripted.tx");
  TrainerGroups groups = rules.assign(scripted);
  CHECK(groups.frozen == std::vector<std::string>{"embed.weight", "embed.bias"});
  for (const auto& item : scripted.named_parameters())
    CHECK(item.value.requires_grad() == !item.name.starts_with("embed."));
  CHECK(groups.groups[0].name == "norms");
  CHECK(groups.groups[0].parameters.size() == 4);
}

TEST_CASE("errors name the rule file and what is wrong") {
  CHECK_THROWS_WITH_AS(TrainerRules(kRoot + "/tests/data/trainer/missing.tx"), doctest::Contains("T0601"), TrainerError);
  CHECK_THROWS_WITH_AS(TrainerRules(kRoot + "/tests/data/rules/tx/errors/bad_operator.tx"), doctest::Contains("error["), TrainerError);
}
