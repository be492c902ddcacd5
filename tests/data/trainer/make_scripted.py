"""scripted_tiny.pt: a TorchScript module saved by Debian's torch 1.13, for the trainer API's
TorchScript test. Run with /usr/bin/python3 (python3-torch) from this folder."""
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return x + self.fc(self.norm(x))


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Linear(8, 2)
        self.register_buffer("scale", torch.ones(2))

    def forward(self, x):
        x = self.embed(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x) * self.scale


torch.manual_seed(0)
torch.jit.save(torch.jit.script(TinyNet()), "scripted_tiny.pt")
print("wrote scripted_tiny.pt")
