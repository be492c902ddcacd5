"""taxon.load_checkpoint and taxon.apply: checkpoints read by taxon's own readers (never
torch.load, never unpickling code), adapted by a plan."""
import json
import os

from ._errors import CheckpointError
from ._native import engine
from ._rules import Rules, load_rules, model_of


def _paths(paths):
    if isinstance(paths, (str, os.PathLike)):
        return [os.fspath(paths)]
    return [os.fspath(p) for p in paths]


def _rules_and_plan(rules, plan, strict):
    # No rules: load as PyTorch does, strictly or not. Rules may be a Rules, a path, a stdlib name or text.
    if rules is None:
        if plan is not None:
            raise ValueError("plan names a `plan` block of `rules`; give rules=... too")
        text = f"plan load {{\n  load strict = {'true' if strict else 'false'}\n}}\n"
        return load_rules(text, name="<load_checkpoint>.tx"), "load"
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    return rules, plan or ""


def _run(rules, plan, paths, target, target_name, source="", output="", overwrite=False):
    application = engine.plan_application(rules._native, plan, paths, target, target_name, source, output, overwrite)
    report = json.loads(application.json())
    if not application.ok or application.load_fails:
        reasons = application.reasons()
        errors = [f["rendered"] for f in application.findings() if f["level"] == "error"]
        message = "".join(errors).rstrip() or "; ".join(reasons) or "the plan cannot load this checkpoint"
        hint = application.hint()
        raise CheckpointError(message + (f"\nhint: {hint}" if hint else ""), code="", report=report)
    return application, report


def load_checkpoint(model, paths, plan=None, rules=None, strict=True, source=""):
    """Loads checkpoint file(s) into `model`'s tensors, in place, as `taxon apply` would adapt them.

    `paths`: one file or several merged in order (.safetensors, a sharded index or folder, torch
    .pt/.pth/.bin/.ckpt, DDP/Lightning wrappers and nested dicts). `rules` (a Rules, a file, a
    stdlib name such as "timm/checkpoint", or text) and `plan` (the name of one of its `plan`
    blocks) adapt the keys and tensors; without them the checkpoint loads as it is, `strict` as in
    load_state_dict. Returns the report (a dict: kept, renamed, dropped and by which rule, skipped,
    missing, unexpected, ... as `taxon apply --format json`). Raises CheckpointError, and changes
    nothing in the model, when a file cannot be read or the plan's verdict is a failure."""
    import torch

    rules, plan = _rules_and_plan(rules, plan, strict)
    application, report = _run(rules, plan, _paths(paths), model_of(model), type(model).__name__, source)
    destinations = dict(model.named_parameters())
    destinations.update(dict(model.named_buffers()))
    # Every tensor is made before any is copied: a failure half-way leaves the model as it was.
    made = []

    def take(name, shape, dtype, data):
        if name not in destinations:
            return
        # taxon names dtypes as PyTorch does, without `torch.`; frombuffer refuses an empty buffer.
        torch_dtype = getattr(torch, dtype)
        tensor = torch.frombuffer(bytearray(data), dtype=torch_dtype) if data else torch.empty(0, dtype=torch_dtype)
        made.append((name, tensor.reshape(shape)))

    application.for_each_tensor(take)
    with torch.no_grad():
        for name, tensor in made:
            destination = destinations[name]
            if destination.shape != tensor.shape:
                raise CheckpointError(f"{name}: the checkpoint gives {list(tensor.shape)}, the model has "
                                      f"{list(destination.shape)}", report=report)
        for name, tensor in made:
            destinations[name].copy_(tensor)
    return report


def apply(rules, checkpoints, output, plan=None, target=None, source="", overwrite=False):
    """What `taxon apply` does, for files: runs the plan over `checkpoints` (checked against
    `target`, a model, a dump dict or a dump file, when given) and writes `output` (.safetensors,
    .pt, ...) atomically. Returns the report dict; raises CheckpointError (nothing written) when a
    file cannot be read or the verdict is a failure."""
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    target_model = None if target is None else model_of(target)
    target_name = "" if target is None else (os.fspath(target) if isinstance(target, (str, os.PathLike)) else type(target).__name__)
    application, report = _run(rules, plan or "", _paths(checkpoints), target_model, target_name, source,
                               os.fspath(output), overwrite)
    report["written"] = application.write(os.fspath(output))
    return report


__all__ = ["load_checkpoint", "apply"]
