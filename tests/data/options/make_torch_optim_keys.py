"""Writes torch_optim_keys.json: the keys each built-in torch.optim optimizer keeps in a param group
(besides `params`), as the installed PyTorch builds them. taxon's list of known option keys
(engine/option_keys.hpp) must hold every one (tests/engine/option_keys_test.cpp).

Usage: /usr/bin/python3 make_torch_optim_keys.py OUT.json   (Debian's python3-torch)
"""
import inspect
import json
import sys

import torch


def main(out):
    keys = {}
    parameter = [torch.nn.Parameter(torch.zeros(2))]
    for name in sorted(dir(torch.optim)):
        cls = getattr(torch.optim, name)
        if not (inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer)) or cls is torch.optim.Optimizer:
            continue
        try:
            optimizer = cls(parameter)
        except ValueError:  # SGD has no default lr
            optimizer = cls(parameter, lr=0.1)
        keys[name] = sorted(key for key in optimizer.param_groups[0] if key != "params")
    with open(out, "w") as f:
        json.dump({"torch": torch.__version__, "generator": "tests/data/options/make_torch_optim_keys.py",
                   "optimizers": keys}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
