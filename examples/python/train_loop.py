"""A plain PyTorch training loop with taxon: optimizer groups and freezing from a rule file,
a checkpoint saved and loaded back through a plan.

    python3 examples/python/train_loop.py   # with the package installed (docs/python.md)
"""
import pathlib
import tempfile

import torch

import taxon

RULES = """
import "no_weight_decay.tx"

defaults { weight_decay = 0.05 }
freeze : name starts "embed."                      # the input projection stays as initialized
group head : name starts "head." { lr_mult = 10 }
group no_decay : no_weight_decay { weight_decay = 0 }
group blocks : name ~ /^blocks\\.(?P<i>\\d+)\\./ { lr_mult = 0.8 ** (3 - i) }  # layer-wise decay
"""


class Block(torch.nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.fc1 = torch.nn.Linear(width, width)
        self.fc2 = torch.nn.Linear(width, width)

    def forward(self, x):
        return x + self.fc2(torch.relu(self.fc1(self.norm(x))))


class Net(torch.nn.Module):
    def __init__(self, width=16, depth=4):
        super().__init__()
        self.embed = torch.nn.Linear(8, width)
        self.blocks = torch.nn.ModuleList(Block(width) for _ in range(depth))
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, 1)

    def forward(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


def main():
    torch.manual_seed(0)
    model = Net()
    rules = taxon.load_rules(RULES, name="train_loop.tx")
    frozen = rules.freeze(model)
    groups = rules.param_groups(model, lr=1e-3)
    for group in groups:
        print(f"{group['name']:12s} {len(group['params']):3d} tensors  lr={group['lr']:.6f}  weight_decay={group['weight_decay']}")
    optimizer = torch.optim.AdamW(groups)

    x, y = torch.randn(256, 8), torch.randn(256, 1)
    embed_before = model.embed.weight.detach().clone()
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}; frozen: {', '.join(frozen)}")
    assert losses[-1] < losses[0], "the loss must fall"
    assert torch.equal(model.embed.weight, embed_before), "frozen tensors must not change"

    with tempfile.TemporaryDirectory() as scratch:
        # What a DDP run saves: every key under `module.`; taxon's stdlib plan unwraps it.
        path = pathlib.Path(scratch) / "ddp.pt"
        torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, path)
        fresh = Net()
        report = taxon.load_checkpoint(fresh, path, rules="prefixes", plan="unwrap_ddp")
        print(f"loaded {report['kept']} tensors from {path.name}")
        assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))
        assert torch.equal(fresh(x), model(x))


if __name__ == "__main__":
    main()
