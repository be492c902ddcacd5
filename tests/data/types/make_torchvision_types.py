"""What `type` tests must select on models whose classes inherit from PyTorch's, as Python's
isinstance() says: torchvision's convnext_tiny (LayerNorm2d subclasses nn.LayerNorm) and vit_b_16
(the attention's out_proj is a NonDynamicallyQuantizableLinear, which subclasses nn.Linear).

Writes, from this folder, with Debian's python3-torch and python3-torchvision:
    /usr/bin/python3 make_torchvision_types.py
  ../dumps/tv_convnext_tiny.json, ../dumps/tv_vit_b_16.json   tools/dump_model.py's dumps, with
      each module's class ancestry (modules[].mro)
  torchvision_expected.json   per model and query, the parameter names (named_parameters() order)
      whose owning module the query selects, computed here with isinstance() and type(); with the
      torch and torchvision versions that computed them

The models are the real torchvision ones, not rebuilt: built on the meta device where torch has
one to build under (torch >= 2.0), else on the CPU (a few hundred MB for a few seconds; only
shapes and classes are read).
"""
import contextlib
import json
import os
import sys

import torch
import torchvision
from torch import nn
from torchvision import models

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools"))
from dump_model import write_model_dump  # noqa: E402


def build(factory):
    device = torch.device("meta") if hasattr(torch, "set_default_device") else contextlib.nullcontext()
    with device:
        return factory(weights=None)


def owned_parameters(model, accepts):
    """Parameter names, as rules see them (ties once, under the first name), whose owner `accepts`."""
    names, seen = [], set()
    for path, module in model.named_modules(remove_duplicate=False):
        for leaf, parameter in module._parameters.items():
            if parameter is None or id(parameter) in seen:
                continue
            seen.add(id(parameter))
            if accepts(module):
                names.append(f"{path}.{leaf}" if path else leaf)
    return names


# (model, the query as a rule writes it, what Python selects)
QUERIES = {
    "convnext_tiny": {
        "type in {LayerNorm, BatchNorm2d}": lambda m: isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)),
        "type is {LayerNorm, BatchNorm2d}": lambda m: type(m) in (nn.LayerNorm, nn.BatchNorm2d),
        "type is LayerNorm2d": lambda m: type(m) is models.convnext.LayerNorm2d,
    },
    "vit_b_16": {
        "type == Linear": lambda m: isinstance(m, nn.Linear),
        "type is Linear": lambda m: type(m) is nn.Linear,
    },
}


def main():
    expected = {"generator": "tests/data/types/make_torchvision_types.py",
                "torch": torch.__version__, "torchvision": torchvision.__version__, "models": {}}
    for name, queries in QUERIES.items():
        model = build(getattr(models, name))
        write_model_dump(model, os.path.join(HERE, "..", "dumps", f"tv_{name}.json"), name=f"torchvision {name}")
        expected["models"][name] = {
            "dump": f"tests/data/dumps/tv_{name}.json",
            "queries": {query: owned_parameters(model, accepts) for query, accepts in queries.items()},
        }
    with open(os.path.join(HERE, "torchvision_expected.json"), "w") as out:
        json.dump(expected, out, indent=1)
        out.write("\n")
    for name, model in expected["models"].items():
        for query, names in model["queries"].items():
            print(f"{name}: {query}: {len(names)} parameters")


if __name__ == "__main__":
    main()
