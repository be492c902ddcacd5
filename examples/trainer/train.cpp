// Trains a small LibTorch model with parameter groups from a taxon rule file:
//   train [groups.tx]
// The rules freeze the input projection, give the head 10x the learning rate,
// take weight decay off biases and norms, and decay the rate by depth. The
// program prints the groups taxon made, trains on a synthetic regression, and
// fails (exit 1) unless the loss falls and the frozen weights stay put.
#include <torch/torch.h>

#include <cstdio>
#include <iostream>

#include <taxon/trainer.hpp>

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(int64_t dim)
      : norm(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})))),
        fc1(register_module("fc1", torch::nn::Linear(dim, 2 * dim))),
        fc2(register_module("fc2", torch::nn::Linear(2 * dim, dim))) {}
  torch::Tensor forward(const torch::Tensor& x) { return x + fc2(torch::gelu(fc1(norm(x)))); }
  torch::nn::LayerNorm norm;
  torch::nn::Linear fc1, fc2;
};
TORCH_MODULE(Block);

struct NetImpl : torch::nn::Module {
  NetImpl(int64_t in, int64_t dim, int64_t depth, int64_t out) {
    embed = register_module("embed", torch::nn::Linear(in, dim));
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) blocks->push_back(Block(dim));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    head = register_module("head", torch::nn::Linear(dim, out));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = embed(x);
    for (const auto& block : *blocks) x = block->as<BlockImpl>()->forward(x);
    return head(norm(x));
  }
  torch::nn::Linear embed{nullptr}, head{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
TORCH_MODULE(Net);

int main(int argc, char** argv) {
  std::string rules_path = argc > 1 ? argv[1] : "examples/trainer/groups.tx";
  torch::manual_seed(0);
  Net net(16, 32, 4, 4);
  torch::Tensor embed_before = net->embed->weight.clone();

  try {
    taxon::TrainerRules rules(rules_path);
    taxon::TrainerGroups groups = rules.assign(*net);
    torch::optim::AdamWOptions defaults(1e-3);
    defaults.weight_decay(0.01);
    auto param_groups = groups.optimizer_groups(defaults);

    std::printf("frozen by the rules: %zu tensors\n", groups.frozen.size());
    for (const auto& group : groups.groups) {
      auto lr_mult = taxon::TrainerGroups::number(group, {"lr_mult"});
      auto decay = taxon::TrainerGroups::number(group, {"weight_decay"});
      std::printf("  %-28s %3zu tensors  lr %.6f  weight_decay %.3f\n", group.name.c_str(), group.parameters.size(),
                  defaults.lr() * lr_mult.value_or(1.0), decay.value_or(defaults.weight_decay()));
    }
    torch::optim::AdamW optimizer(param_groups, defaults);

    torch::Tensor truth = torch::randn({16, 4});
    double first = 0, last = 0;
    for (int step = 0; step < 300; ++step) {
      torch::Tensor x = torch::randn({64, 16});
      torch::Tensor loss = torch::mse_loss(net->forward(x), torch::matmul(x, truth));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
    }
    std::printf("loss %.4f -> %.4f over 300 steps\n", first, last);
    bool frozen_kept = torch::equal(embed_before, net->embed->weight) && !net->embed->weight.requires_grad();
    std::printf("frozen embed unchanged: %s\n", frozen_kept ? "yes" : "no");
    return last < first / 2 && frozen_kept ? 0 : 1;
  } catch (const taxon::TrainerError& error) {
    std::cerr << error.what() << "\n";
    return 2;
  }
}
