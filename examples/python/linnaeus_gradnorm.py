"""A linnaeus-style YAML config (examples/python/linnaeus_config.yaml) driving a trainer:
its OPTIMIZER.PARAMETER_GROUPS become torch.optim groups, and LOSS.GRAD_WEIGHTING's GradNorm
EXCLUDE_CONFIG becomes the set of parameters GradNorm leaves out, as linnaeus reads them.

    python3 examples/python/linnaeus_gradnorm.py   # with the package installed (docs/python.md)

The model here is rebuilt from the mFormer dump (examples/dumps/mformer_tiny.json) on the meta
device; a trainer passes its own model."""
import json
import pathlib

import torch

import taxon

HERE = pathlib.Path(__file__).resolve().parent


def module_from_dump(dump):
    # The dump's module tree with each parameter's shape (class names kept, for `type` rules).
    classes = {}
    modules = {}
    for entry in dump["modules"]:
        cls = classes.setdefault(entry["type"], type(entry["type"], (torch.nn.Module,), {}))
        modules[entry["name"]] = cls()
        if entry["name"]:
            parent, _, leaf = entry["name"].rpartition(".")
            modules[parent].add_module(leaf, modules[entry["name"]])
    for tensor in dump["tensors"]:
        if "tied_to" in tensor or tensor["kind"] != "parameter":
            continue
        owner, _, leaf = tensor["name"].rpartition(".")
        modules[owner].register_parameter(leaf, torch.nn.Parameter(torch.empty(tensor["shape"], device="meta")))
    return modules[""]


def main():
    model = module_from_dump(json.loads((HERE.parent / "dumps" / "mformer_tiny.json").read_text()))
    rules = taxon.load_rules(HERE / "linnaeus_config.yaml")
    groups = rules.param_groups(model, lr=5e-4)  # linnaeus's keys: LR_MULTIPLIER scales lr, WEIGHT_DECAY
    for group in groups:
        print(f"{group['name']:10s} {len(group['params']):3d} tensors  lr={group['lr']:.6f}  weight_decay={group['weight_decay']}")
    by_name = {group["name"]: group for group in groups}
    assert by_name["HEADS"]["lr"] == 5e-3 and by_name["BACKBONE"]["lr"] == 2.5e-4
    torch.optim.AdamW(groups)  # every parameter in one group
    excluded = rules.select(model, "gradnorm_exclude")
    print(f"GradNorm leaves out {len(excluded)} tensors, e.g. {', '.join(list(excluded)[:3])}")
    gradnorm = [p for n, p in model.named_parameters() if n not in excluded]
    assert excluded and gradnorm
    assert all(n.startswith(("head.", "meta_")) or "cl_1_fc" in n or "aggregate" in n for n in excluded)
    return groups, excluded


if __name__ == "__main__":
    main()
