"""Times taxon's Python API on a 92,000-parameter-tensor model built on the meta device.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_param_groups.py [ITERATIONS]

Prints min and median seconds of: walking the model as PyTorch does (list(named_parameters()),
what any optimizer set-up pays), taxon.describe's walk, and Rules.param_groups end to end (the
walk, the engine, the groups built) for one group and for a layer decay with no-decay set rules
(4,600 groups). docs/performance.md quotes the figures and their ratio to the PyTorch walk."""
import statistics
import sys
import time

import torch

import taxon
from taxon import _describe

ITERATIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 7
BLOCKS, LINEARS = 2300, 20  # 2 tensors each: 92,000


def build():
    model = torch.nn.Module()
    model.blocks = torch.nn.ModuleList()
    for _ in range(BLOCKS):
        block = torch.nn.Module()
        for j in range(LINEARS):
            block.add_module(f"lin{j}", torch.nn.Linear(4, 4, device="meta"))
        model.blocks.append(block)
    return model


def timed(label, function):
    seconds = []
    for _ in range(ITERATIONS):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    print(f"{label:48s} min {min(seconds):.3f} s  median {statistics.median(seconds):.3f} s")
    return result, statistics.median(seconds)


model = build()
print(f"{sum(1 for _ in model.parameters())} parameter tensors, {ITERATIONS} iterations")
_, pytorch = timed("list(model.named_parameters())", lambda: list(model.named_parameters()))
timed("taxon describe walk", lambda: _describe.walk(model))
one = taxon.load_rules("group all { weight_decay = 0.05 }\n")
groups, single = timed("param_groups: one group", lambda: one.param_groups(model, lr=1e-3))
decay = taxon.load_rules(
    "param decay = 0.9\n"
    "let block = name ~ /^blocks\\.(?P<i>\\d+)\\./\n"
    "let depth = max(i where block) + 1\n"
    "defaults { weight_decay = 0.05 }\n"
    "set layer : block { lr_mult = decay ** (depth - i) }\n"
    "set no_decay : name ends \".bias\" { weight_decay = 0 }\n"
    "group all { }\n")
groups, layered = timed("param_groups: layer decay + no decay", lambda: decay.param_groups(model, lr=1e-3))
print(f"{len(groups)} groups; param_groups / PyTorch's walk: {single / pytorch:.1f}x (one group), "
      f"{layered / pytorch:.1f}x (layer decay)")
