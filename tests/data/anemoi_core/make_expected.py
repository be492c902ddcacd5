#!/usr/bin/python3
"""Generate tests/data/anemoi_core/expected.json by running anemoi-core's OWN code.

Nothing here re-implements anemoi-core. At run time the upstream sources are
extracted from a git directory of ecmwf/anemoi-core (``--anemoi-git-dir`` or
env ANEMOI_GIT_DIR: a clone of https://github.com/ecmwf/anemoi-core) into a temporary directory and
imported from there. Only third-party / heavy imports that play no part in the
code paths exercised below are replaced by tiny stand-in modules (see
``install_stubs``; every stub says why it is harmless).

Run with Debian's interpreter (torch 1.13, numpy, omegaconf):

    /usr/bin/python3 tests/data/anemoi_core/make_expected.py [--anemoi-git-dir DIR]

The output is deterministic: running it twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn

HERE = Path(__file__).resolve().parent

# Upstream trees we need: anemoi-training and anemoi-models (the chunking
# migration and the Migrator live in anemoi-models).
UPSTREAM_TREES = ("training/src/anemoi", "models/src/anemoi")


# --------------------------------------------------------------------------
# Upstream extraction and imports
# --------------------------------------------------------------------------


def git(git_dir: str, *args: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout


def extract_upstream(git_dir: str, dest: Path) -> str:
    """Extract the upstream python trees at HEAD into ``dest``; return the commit."""
    commit = git(git_dir, "rev-parse", "HEAD").decode().strip()
    for tree in UPSTREAM_TREES:
        data = git(git_dir, "archive", "--format=tar", commit, tree)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(dest)
    # Both trees share the namespace package ``anemoi``: put both on sys.path.
    for tree in UPSTREAM_TREES:
        sys.path.insert(0, str(dest / Path(tree).parent))
    return commit


def _stub(name: str, **attrs: object) -> types.ModuleType:
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    mod.__taxon_stub__ = True
    sys.modules[name] = mod
    return mod


def install_stubs() -> list[str]:
    """Stand-ins for modules that are not installed here. Returns their names."""

    class _Placeholder:  # a class nothing in our cases ever instantiates
        pass

    # pytorch_lightning: anemoi/training/utils/checkpoint.py imports Callback,
    # LightningModule and Trainer only for the RegisterMigrations callback and
    # type annotations; transfer_learning_loading / freeze_submodule_by_name do
    # not use them.
    _stub("pytorch_lightning", Callback=_Placeholder, LightningModule=_Placeholder, Trainer=_Placeholder)
    # hydra: anemoi/training/checkpoint/pipeline.py (imported by the package
    # __init__) uses hydra.utils.instantiate only to build pipelines from a
    # config; we instantiate the stages directly.
    _stub("hydra")
    _stub("hydra.utils", instantiate=None)
    # anemoi.utils.checkpoints.save_metadata: used only by
    # save_inference_checkpoint / formats.save_checkpoint, never called here.
    _stub("anemoi.utils")
    _stub("anemoi.utils.checkpoints", save_metadata=None)
    # anemoi.transform.variables.Variable: imported by
    # anemoi/training/utils/variables_metadata.py, used only by the unit
    # compatibility checks, not by extract_variables_metadata_from_checkpoint.
    _stub("anemoi.transform")
    _stub("anemoi.transform.variables", Variable=_Placeholder)
    # anemoi.models.layers.graph_provider.StaticGraphProvider (needs
    # torch_geometric): the trainable-edge-permutation migration only acts on
    # modules that are StaticGraphProvider instances; none of our models
    # contain one, so with a placeholder class it is the same no-op.
    _stub("anemoi.models.layers")
    _stub("anemoi.models.layers.graph_provider", StaticGraphProvider=_Placeholder)
    # anemoi.models.preprocessing.imputer.BaseImputer: used only by
    # clear_imputer_runtime_state (inference checkpoint saving), not called.
    _stub("anemoi.models.preprocessing")
    _stub("anemoi.models.preprocessing.imputer", BaseImputer=_Placeholder)
    return sorted(k for k, v in sys.modules.items() if getattr(v, "__taxon_stub__", False))


def load_update_checkpoint_state_dict_for_load(src_root: Path):
    """The real ``BaseTrainingModule._update_checkpoint_state_dict_for_load``.

    anemoi/training/train/methods/base.py needs timm, torch_geometric,
    anemoi.graphs, the losses, ... to import. The method itself only touches
    ``self.config`` and ``self.model``; so we take its source verbatim from the
    upstream file with ``ast`` and compile it on its own (same file name, so
    tracebacks point at upstream lines). This is upstream code, not a copy in
    our repository.
    """
    path = src_root / "training/src/anemoi/training/train/methods/base.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "BaseTrainingModule":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "_update_checkpoint_state_dict_for_load":
                    module = ast.Module(body=[item], type_ignores=[])
                    import __future__

                    code = compile(module, str(path), "exec", flags=__future__.annotations.compiler_flag)
                    namespace: dict = {"Any": object}
                    exec(code, namespace)  # noqa: S102 - upstream source, see docstring
                    return namespace[item.name], item.lineno
    msg = "BaseTrainingModule._update_checkpoint_state_dict_for_load not found upstream"
    raise RuntimeError(msg)


# --------------------------------------------------------------------------
# Language-neutral descriptions
# --------------------------------------------------------------------------


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"level": record.levelname, "logger": record.name, "message": record.getMessage()})


def capture_logs():
    handler = LogCapture()
    logger = logging.getLogger("anemoi")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return handler


def release_logs(handler: LogCapture) -> list[dict]:
    logging.getLogger("anemoi").removeHandler(handler)
    return handler.records


def describe_modules(model: nn.Module) -> list[dict]:
    """Module paths in registration order, a shared module under each of its paths
    (named_modules(remove_duplicate=False)); every path but a module's first names that first
    path in `alias_of`."""
    first: dict[int, str] = {}
    out = []
    for p, m in model.named_modules(remove_duplicate=False):
        entry = {"path": p, "class": type(m).__name__}
        if first.setdefault(id(m), p) != p:
            entry["alias_of"] = first[id(m)]
        out.append(entry)
    return out


def describe_params(model: nn.Module) -> list[dict]:
    return [{"name": n, "shape": list(p.shape), "requires_grad": bool(p.requires_grad)} for n, p in model.named_parameters()]


def describe_state(sd: dict) -> list[dict]:
    out = []
    for k, v in sd.items():
        if isinstance(v, torch.Tensor):
            out.append({"key": k, "shape": list(v.shape)})
        else:
            out.append({"key": k, "value": repr(v)})
    return out


def frozen_names(model: nn.Module) -> list[str]:
    return sorted(n for n, p in model.named_parameters() if not p.requires_grad)


def error_of(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": str(exc)}


class Tagger:
    """Fill tensors with distinct constants so provenance can be read back.

    Every tensor we create gets a unique constant value and a tag
    (e.g. ``checkpoint:model.body.weight`` or ``model:body.weight``); after
    anemoi's code ran, ``origin(t)`` says where the tensor's value came from.
    """

    def __init__(self) -> None:
        self.next = 1.0
        self.tags: dict[float, str] = {}

    def fill(self, t: torch.Tensor, tag: str) -> torch.Tensor:
        value = self.next
        self.next += 1.0
        with torch.no_grad():
            t.fill_(value)
        self.tags[value] = tag
        return t

    def tag_model(self, model: nn.Module, prefix: str = "model:") -> None:
        for name, t in model.state_dict().items():  # params and buffers share storage
            self.fill(t, prefix + name)

    def tensor(self, shape: list[int], tag: str) -> torch.Tensor:
        return self.fill(torch.empty(shape), tag)

    def origin(self, t: torch.Tensor) -> str:
        if t.numel() == 0:
            return "empty"
        flat = t.detach().reshape(-1).float()
        first = float(flat[0])
        if not bool((flat == first).all()):
            return "mixed"
        return self.tags.get(first, f"untagged:{first}")


def origins(tagger: Tagger, sd: dict) -> dict:
    return {k: tagger.origin(v) for k, v in sorted(sd.items()) if isinstance(v, torch.Tensor)}


# --------------------------------------------------------------------------
# Module trees used by the upstream tests (re-created, same paths)
# --------------------------------------------------------------------------


class SimpleModel(nn.Module):  # test_freezing.py / test_warm_start.py / test_weights_only.py
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(10, 5)
        self.decoder = nn.Linear(5, 3)


class NestedModel(nn.Module):  # test_freezing.py
    def __init__(self) -> None:
        super().__init__()
        self.processor = nn.ModuleList([nn.Linear(10, 10), nn.Linear(10, 10)])
        self.head = nn.Linear(10, 3)


class TwoBranchModel(nn.Module):  # test_freezing.py
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({"data": nn.Linear(4, 4)})
        self.decoder = nn.ModuleDict({"data": nn.Linear(4, 4)})


class BranchModel(nn.Module):  # test_freezing.py / utils/test_checkpoint_freezing.py
    def __init__(self) -> None:
        super().__init__()
        self.lin1 = nn.Linear(10, 10)
        self.sequential = nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 10))


def branch_dict() -> nn.Module:
    return nn.ModuleDict({"a": BranchModel(), "b": BranchModel()})


class SharedModel(nn.Module):
    """One Linear reachable by two paths (``encoder`` and ``alias``)."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Linear(4, 4)
        self.alias = self.encoder
        self.decoder = nn.Linear(4, 2)


class AnemoiModel(nn.Module):
    """Stand-in for AnemoiModelEncProcDec with anemoi's real attribute names."""

    def __init__(self, num_layers: int = 2) -> None:
        super().__init__()
        self.encoder = nn.ModuleDict({"data": nn.Linear(4, 8)})
        self.processor = nn.Module()
        self.processor.proc = nn.ModuleList([nn.Linear(8, 8) for _ in range(num_layers)])
        self.decoder = nn.ModuleDict({"data": nn.Linear(8, 4)})


class AnemoiInterface(nn.Module):
    """Stand-in for AnemoiModelInterface: ``.model`` plus the processors."""

    def __init__(self, num_layers: int = 2, with_processors: bool = True, output_idx: int = 3) -> None:
        super().__init__()
        self.model = AnemoiModel(num_layers)
        if with_processors:
            for name in ("pre_processors", "post_processors", "pre_processors_tendencies", "post_processors_tendencies"):
                proc = nn.Module()
                proc.register_buffer("_norm_mul", torch.zeros(3))
                self.add_module(name, nn.ModuleDict({"data": proc}))
            self.model.register_buffer("_model_output_idx", torch.zeros(output_idx))


class LightningLike(nn.Module):
    """Stand-in for the LightningModule (BaseTrainingModule): ``.model.model...``.

    ``_update_checkpoint_state_dict_for_load`` is the real upstream method
    (bound in main()); it reads ``self.config`` and ``self.model`` only.
    """

    _update_fn = None

    def __init__(self, interface: nn.Module, states: bool, tendencies: bool) -> None:
        super().__init__()
        self.model = interface
        self.config = SimpleNamespace(
            training=SimpleNamespace(update_ds_stats_on_ckpt_load=SimpleNamespace(states=states, tendencies=tendencies)),
        )

    def _update_checkpoint_state_dict_for_load(self, checkpoint: dict) -> None:
        return type(self)._update_fn(self, checkpoint)


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

T_FREEZE = "training/tests/unit/checkpoint/modifiers/test_freezing.py"
T_LEGACY_FREEZE = "training/tests/unit/utils/test_checkpoint_freezing.py"
T_TL = "training/tests/unit/checkpoint/loading/test_transfer_learning.py"
T_WS = "training/tests/unit/checkpoint/loading/test_warm_start.py"
T_WO = "training/tests/unit/checkpoint/loading/test_weights_only.py"
T_UTILS = "training/tests/unit/checkpoint/loading/test_utils.py"
T_MIG = "training/tests/unit/checkpoint/loading/test_format_migrations.py"
T_REFRESH = "training/tests/unit/checkpoint/loading/test_refresh_processors.py"
T_LEGACY_LOAD = "training/tests/unit/train/test_checkpoint_loading.py"


def run_async(coro):
    return asyncio.run(coro)


def freezing_cases(up) -> list[dict]:
    Stage = up.FreezingModifierStage
    cases = []

    def stage_case(name, ports, make, targets, strict=False, pre_frozen=(), note=None):
        model = make()
        for n, p in model.named_parameters():
            if any(n == f or n.startswith(f + ".") for f in pre_frozen):
                p.requires_grad = False
        inputs = {
            "modules": describe_modules(model),
            "parameters": describe_params(model),
            "submodules_to_freeze": list(targets),
            "strict": strict,
        }
        logs = capture_logs()
        out: dict = {}
        try:
            ctx = run_async(Stage(submodules_to_freeze=targets, strict=strict).process(up.CheckpointContext(model=model)))
            out["metadata"] = ctx.metadata
        except Exception as e:  # noqa: BLE001 - recorded
            out["error"] = error_of(e)
        out["frozen_parameters"] = frozen_names(model)
        out["logs"] = release_logs(logs)
        case = {"name": name, "area": "freezing", "api": "checkpoint.modifiers.freezing.FreezingModifierStage",
                "ports": ports, "inputs": inputs, "outputs": out}
        if note:
            case["note"] = note
        cases.append(case)

    def legacy_case(name, ports, make, targets, note=None):
        """train.py's loop: freeze_submodule_by_name(model.model.model, name) per entry.

        The loop body of AnemoiTrainer.model (train/train.py) cannot be run
        without hydra/pl/graphs; we call the real freeze_submodule_by_name per
        entry and record its return value; train.py logs
        "<NAME> frozen successfully." on True and
        "Submodule <name> not found. SKIPPING freezing." on False.
        """
        model = make()
        inputs = {"modules": describe_modules(model), "parameters": describe_params(model),
                  "submodules_to_freeze": list(targets)}
        logs = capture_logs()
        found = [{"name": t, "found": bool(up.freeze_submodule_by_name(model, t))} for t in targets]
        out = {"found": found, "frozen_parameters": frozen_names(model), "logs": release_logs(logs)}
        case = {"name": name, "area": "freezing_legacy", "api": "utils.checkpoint.freeze_submodule_by_name",
                "ports": ports, "inputs": inputs, "outputs": out}
        if note:
            case["note"] = note
        cases.append(case)

    stage_case("stage_exact_child", f"{T_FREEZE}::test_freezing_adapter_freezes_specified_module", SimpleModel, ["encoder"])
    stage_case("stage_missing_strict", f"{T_FREEZE}::test_freezing_strict_mode_raises_on_missing_submodule",
               SimpleModel, ["nonexistent_module"], strict=True)
    stage_case("stage_missing_non_strict", f"{T_FREEZE}::test_freezing_non_strict_skips_missing_submodule",
               SimpleModel, ["nonexistent_module", "encoder"])
    stage_case("stage_missing_strict_after_hit", f"{T_FREEZE}::test_freezing_strict_mode_raises_on_missing_submodule",
               SimpleModel, ["encoder", "nonexistent_module", "decoder"], strict=True,
               note="strict raises at the first missing name; names before it are already frozen")
    stage_case("stage_dot_path", f"{T_FREEZE}::test_freezing_dot_notation_submodule", NestedModel, ["processor.0"])
    stage_case("stage_bare_name_not_nested", f"{T_FREEZE}::test_freezing_bare_name_does_not_match_nested",
               TwoBranchModel, ["data"])
    stage_case("stage_bare_name_nested_strict", f"{T_FREEZE}::test_freezing_bare_name_nested_strict_raises",
               TwoBranchModel, ["data"], strict=True)
    stage_case("stage_already_frozen", f"{T_FREEZE}::test_freezing_already_frozen_module_is_not_missing",
               SimpleModel, ["encoder"], strict=True, pre_frozen=["encoder"])
    stage_case("stage_matches_legacy", f"{T_FREEZE}::test_freezing_stage_matches_legacy_helper",
               TwoBranchModel, ["encoder.data", "missing.path"])
    stage_case("stage_deep_dot_path", f"{T_FREEZE}::test_freezing_deep_dot_path_targets_single_branch",
               branch_dict, ["a.sequential.0"])
    stage_case("stage_branch_subtree", f"{T_FREEZE}::test_freezing_branch_name_freezes_whole_subtree",
               branch_dict, ["a"])
    stage_case("stage_empty_string", "(new) '' resolves to the whole model via get_submodule", SimpleModel, [""])
    stage_case("stage_empty_list", "(new) FreezingModifierStage with no submodules", SimpleModel, [])
    stage_case("stage_shared_module_two_paths", "(new) one module reachable by two paths", SharedModel, ["alias"])
    stage_case("stage_trailing_dot", "(new) path with a trailing dot", NestedModel, ["processor."], strict=False)
    stage_case("stage_param_path", "(new) a parameter path is not a module", SimpleModel, ["encoder.weight"])
    stage_case("stage_anemoi_paths", "(new) real anemoi paths under the LightningModule",
               lambda: LightningLike(AnemoiInterface(with_processors=False), False, False),
               ["model.model.encoder", "model.model.processor.proc.1", "encoder"])

    legacy_case("legacy_freeze_submodule", f"{T_LEGACY_FREEZE}::test_freeze_submodule", branch_dict, ["a.sequential.0"])
    legacy_case("legacy_freeze_module", f"{T_LEGACY_FREEZE}::test_freeze_module", branch_dict, ["a"])
    legacy_case("legacy_matches_stage", f"{T_FREEZE}::test_freezing_stage_matches_legacy_helper",
                TwoBranchModel, ["encoder.data", "missing.path"])
    legacy_case("legacy_empty_string", "(new) '' freezes nothing in the legacy helper", SimpleModel, [""])
    legacy_case("legacy_bare_name_not_nested", "(new) bare nested name", TwoBranchModel, ["data"])
    legacy_case("legacy_shared_module_two_paths", "(new) one module reachable by two paths", SharedModel, ["alias"])
    legacy_case("legacy_trailing_dot", "(new) path with a trailing dot", NestedModel, ["processor."])
    legacy_case("legacy_param_path", "(new) a parameter path is not a module", SimpleModel, ["encoder.weight"])
    legacy_case("legacy_anemoi_inner_network", "(new) train.py freezes under model.model.model (the inner network)",
                lambda: AnemoiModel(3), ["encoder", "processor.proc.1", "processor", "decoder.data", "missing"])
    return cases


def state_of(tagger: Tagger, spec: dict[str, list[int]], prefix: str = "checkpoint:") -> dict:
    return {k: tagger.tensor(s, prefix + k) for k, s in spec.items()}


class TLSource(nn.Module):  # test_transfer_learning.py SourceModel
    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Linear(10, 5)
        self.source_only = nn.Linear(5, 3)


class TLTarget(nn.Module):  # test_transfer_learning.py TargetModel
    def __init__(self) -> None:
        super().__init__()
        self.shared = nn.Linear(10, 5)
        self.target_only = nn.Linear(5, 7)


def loader_case(up, *, area, name, ports, api, loader, model, ckpt_state, extra_ckpt=None, config=None, note=None):
    tagger = Tagger()
    tagger.tag_model(model)
    source = state_of(tagger, ckpt_state)
    checkpoint_data = {"state_dict": source}
    if extra_ckpt:
        checkpoint_data.update(extra_ckpt)
    inputs = {"modules": describe_modules(model), "model_state": describe_state(model.state_dict()),
              "checkpoint_state": describe_state(source)}
    if config is not None:
        inputs["config"] = config
    inputs["loader"] = {k: v for k, v in vars(loader).items()}
    ctx = up.CheckpointContext(model=model, checkpoint_data=checkpoint_data,
                               config=up.OmegaConf.create(config) if config is not None else None)
    first_ctx = ctx
    logs = capture_logs()
    out: dict = {}
    try:
        ctx = run_async(loader.process(ctx))
        md = dict(ctx.metadata)
        if "skipped_params" in md:
            md["skipped_params"] = dict(sorted(md["skipped_params"].items()))
        if "transferred_params" in md:
            md["transferred_params"] = sorted(md["transferred_params"])
        out["metadata"] = md
    except Exception as e:  # noqa: BLE001 - recorded
        out["error"] = error_of(e)
        if e.__cause__ is not None:
            out["error"]["cause"] = error_of(e.__cause__)
    out["model_state_origin"] = origins(tagger, model.state_dict())
    # The checkpoint's state dict after anemoi's refresh / migration (mutated in place).
    out["checkpoint_state_origin_after"] = origins(tagger, first_ctx.checkpoint_data["state_dict"])
    out["logs"] = release_logs(logs)
    case = {"name": name, "area": area, "api": api, "ports": ports, "inputs": inputs, "outputs": out}
    if note:
        case["note"] = note
    return case


def loading_cases(up) -> list[dict]:
    cases = []
    TL, WS, WO = up.TransferLearningLoader, up.WarmStartLoader, up.WeightsOnlyLoader
    src = {"shared.weight": [5, 10], "shared.bias": [5], "source_only.weight": [3, 5], "source_only.bias": [3]}
    cases.append(loader_case(up, area="transfer_learning", name="tl_key_not_in_target",
                             ports=f"{T_TL}::test_transfer_learning_tracks_transferred_params",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(), model=TLTarget(), ckpt_state=src))
    mism = {"shared.weight": [5, 10], "shared.bias": [5], "target_only.weight": [3, 5], "target_only.bias": [3]}
    cases.append(loader_case(up, area="transfer_learning", name="tl_shape_mismatch",
                             ports=f"{T_TL}::test_transfer_learning_skips_mismatched_shapes",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(), model=TLTarget(), ckpt_state=mism))
    cases.append(loader_case(up, area="transfer_learning", name="tl_shape_mismatch_not_skipped",
                             ports="(new) TransferLearningLoader(skip_mismatched=False)",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(skip_mismatched=False), model=TLTarget(), ckpt_state=mism))
    full = {k: list(v.shape) for k, v in TLTarget().state_dict().items()}
    cases.append(loader_case(up, area="transfer_learning", name="tl_all_matched",
                             ports=f"{T_TL}::test_transfer_learning_sets_weights_initialized",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(), model=TLTarget(), ckpt_state=full))
    cases.append(loader_case(up, area="transfer_learning", name="tl_nothing_kept",
                             ports="(new) no key compatible",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(), model=TLTarget(),
                             ckpt_state={"other.weight": [2, 2], "shared.weight": [1, 10], "shared.bias": [4]}))
    cases.append(loader_case(up, area="transfer_learning", name="tl_refresh_processors_states_and_tendencies",
                             ports=f"{T_REFRESH}::test_full_process_call_applies_the_refresh",
                             api="checkpoint.loading.strategies.TransferLearningLoader",
                             loader=TL(),
                             model=LightningLike(AnemoiInterface(output_idx=3), False, False),
                             ckpt_state={k: list(v.shape) for k, v in
                                         LightningLike(AnemoiInterface(output_idx=5), False, False).state_dict().items()},
                             config={"training": {"update_ds_stats_on_ckpt_load": {"states": True, "tendencies": True}}},
                             note="pipeline refresh: _model_output_idx is NOT taken from the current model "
                                  "(compare legacy_tl_refresh_both)"))

    simple = {k: list(v.shape) for k, v in SimpleModel().state_dict().items()}
    cases.append(loader_case(up, area="warm_start", name="ws_exact_match",
                             ports=f"{T_WS}::test_warm_start_restores_model_weights",
                             api="checkpoint.loading.strategies.WarmStartLoader",
                             loader=WS(), model=SimpleModel(), ckpt_state=simple,
                             extra_ckpt={"epoch": 5, "global_step": 1000}))
    cases.append(loader_case(up, area="warm_start", name="ws_missing_and_unexpected",
                             ports="(new) WarmStartLoader demands an exact match",
                             api="checkpoint.loading.strategies.WarmStartLoader",
                             loader=WS(), model=SimpleModel(),
                             ckpt_state={"encoder.weight": [5, 10], "encoder.bias": [5], "extra.weight": [2]}))
    cases.append(loader_case(up, area="warm_start", name="ws_shape_mismatch",
                             ports="(new) WarmStartLoader demands an exact match",
                             api="checkpoint.loading.strategies.WarmStartLoader",
                             loader=WS(), model=SimpleModel(), ckpt_state={**simple, "decoder.weight": [4, 5]}))

    cases.append(loader_case(up, area="weights_only", name="wo_default_non_strict",
                             ports=f"{T_WO}::test_weights_only_loads_state_dict",
                             api="checkpoint.loading.strategies.WeightsOnlyLoader",
                             loader=WO(), model=SimpleModel(),
                             ckpt_state={"encoder.weight": [5, 10], "encoder.bias": [5], "extra.weight": [2]}))
    cases.append(loader_case(up, area="weights_only", name="wo_strict_true_missing",
                             ports="(new) WeightsOnlyLoader(strict=True)",
                             api="checkpoint.loading.strategies.WeightsOnlyLoader",
                             loader=WO(strict=True), model=SimpleModel(),
                             ckpt_state={"encoder.weight": [5, 10], "encoder.bias": [5], "extra.weight": [2]}))
    cases.append(loader_case(up, area="weights_only", name="wo_default_shape_mismatch",
                             ports="(new) strict=False still fails on a shape mismatch (torch semantics)",
                             api="checkpoint.loading.strategies.WeightsOnlyLoader",
                             loader=WO(), model=SimpleModel(), ckpt_state={**simple, "decoder.weight": [4, 5]}))
    for states, tendencies in ((False, False), (True, False), (False, True), (True, True)):
        cases.append(loader_case(
            up, area="refresh_processors", name=f"wo_refresh_states_{str(states).lower()}_tendencies_{str(tendencies).lower()}",
            ports=f"{T_REFRESH}::test_both_flags_replaces_all_four_processor_groups",
            api="checkpoint.loading.strategies.WeightsOnlyLoader (LoadingStrategy._refresh_checkpoint_processors)",
            loader=WO(), model=LightningLike(AnemoiInterface(), False, False),
            ckpt_state={k: list(v.shape) for k, v in LightningLike(AnemoiInterface(), False, False).state_dict().items()},
            config={"training": {"update_ds_stats_on_ckpt_load": {"states": states, "tendencies": tendencies}}}))
    # The upstream refresh test's own model: context.model is the inner
    # network (keys "pre_processors.weight", ...), not the LightningModule.
    for states, tendencies in ((True, True), (False, False)):
        cases.append(loader_case(
            up, area="refresh_processors",
            name=f"wo_refresh_upstream_model_states_{str(states).lower()}_tendencies_{str(tendencies).lower()}",
            ports=(f"{T_REFRESH}::test_both_flags_replaces_all_four_processor_groups" if states
                   else f"{T_REFRESH}::test_no_op_when_both_flags_false"),
            api="checkpoint.loading.strategies.WeightsOnlyLoader (LoadingStrategy._refresh_checkpoint_processors)",
            loader=WO(), model=RefreshModel(),
            ckpt_state={f"model.{p}.{w}": s for p in ("pre_processors", "post_processors", "pre_processors_tendencies",
                                                      "post_processors_tendencies", "body")
                        for w, s in (("weight", [4, 4]), ("bias", [4]))},
            config={"training": {"update_ds_stats_on_ckpt_load": {"states": states, "tendencies": tendencies}}},
            note="checkpoint keys carry a 'model.' prefix the model's own keys lack, so strict=False loads nothing"))
    return cases


class RefreshModel(nn.Module):  # test_refresh_processors.py _ModelWithProcessors
    def __init__(self) -> None:
        super().__init__()
        self.pre_processors = nn.Linear(4, 4)
        self.post_processors = nn.Linear(4, 4)
        self.pre_processors_tendencies = nn.Linear(4, 4)
        self.post_processors_tendencies = nn.Linear(4, 4)
        self.body = nn.Linear(4, 4)


def filter_cases(up) -> list[dict]:
    cases = []

    def case(name, ports, source, target):
        tagger = Tagger()
        s = state_of(tagger, source, "source:")
        t = state_of(tagger, target, "target:")
        filtered, skipped = up.filter_state_dict(s, t)
        cases.append({"name": name, "area": "filter_state_dict", "api": "checkpoint.loading.utils.filter_state_dict",
                      "ports": ports, "inputs": {"source": describe_state(s), "target": describe_state(t)},
                      "outputs": {"filtered": list(filtered), "skipped": dict(sorted(skipped.items()))}})

    case("filter_shape_mismatch", f"{T_UTILS}::test_filter_state_dict_removes_shape_mismatches",
         {"a": [2, 3], "b": [4], "c": [5]}, {"a": [2, 3], "b": [5], "d": [1]})
    case("filter_all_matched", "(new)", {"a": [1], "b": [2, 2]}, {"b": [2, 2], "a": [1]})
    case("filter_nothing_kept", "(new)", {"x": [1], "a": [3]}, {"a": [1, 3]})
    case("filter_scalar_vs_1", "(new) shape [] vs [1]", {"s": []}, {"s": [1]})
    return cases


def save_ckpt(tmp: Path, name: str, ckpt: dict) -> Path:
    """Save into ``tmp`` and return a path relative to it (the cwd while loading).

    transfer_learning_loading puts the path into an error message; a relative
    name keeps expected.json free of temporary directory names.
    """
    torch.save(ckpt, tmp / f"{name}.ckpt")
    return Path(f"{name}.ckpt")


def legacy_transfer_cases(up, tmp: Path) -> list[dict]:
    """utils.checkpoint.transfer_learning_loading on a LightningModule-like wrapper."""
    cases = []

    def case(name, ports, model, ckpt_state, *, states, tendencies, num_layers=1, num_chunks=1,
             data_indices=None, note=None):
        tagger = Tagger()
        tagger.tag_model(model)
        src = state_of(tagger, ckpt_state)
        if data_indices is None:
            data_indices = {"data": SimpleNamespace(name_to_index={})}
        ckpt = {"state_dict": src,
                "hyper_parameters": {
                    "config": up.OmegaConf.create({"model": {"processor": {"num_layers": num_layers, "num_chunks": num_chunks}}}),
                    "data_indices": data_indices}}
        path = save_ckpt(tmp, name, ckpt)
        model.config.training.update_ds_stats_on_ckpt_load.states = states
        model.config.training.update_ds_stats_on_ckpt_load.tendencies = tendencies
        inputs = {"modules": describe_modules(model), "model_state": describe_state(model.state_dict()),
                  "checkpoint_state": describe_state(src),
                  "config": {"training": {"update_ds_stats_on_ckpt_load": {"states": states, "tendencies": tendencies}},
                             "checkpoint_hyper_parameters": {"model": {"processor": {"num_layers": num_layers,
                                                                                    "num_chunks": num_chunks}}}},
                  "data_indices_is_dict": isinstance(data_indices, dict)}
        logs = capture_logs()
        out: dict = {}
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            up.transfer_learning_loading(model, path)
            out["ckpt_model_name_to_index"] = model._ckpt_model_name_to_index
        except Exception as e:  # noqa: BLE001 - recorded
            out["error"] = error_of(e)
        finally:
            os.chdir(cwd)
        out["model_state_origin"] = origins(tagger, model.state_dict())
        out["logs"] = release_logs(logs)
        c = {"name": name, "area": "legacy_transfer", "api": "utils.checkpoint.transfer_learning_loading",
             "ports": ports, "inputs": inputs, "outputs": out}
        if note:
            c["note"] = note
        cases.append(c)

    def lm(num_layers=2, output_idx=3):
        return LightningLike(AnemoiInterface(num_layers=num_layers, output_idx=output_idx), False, False)

    def spec(m):
        return {k: list(v.shape) for k, v in m.state_dict().items()}

    for states, tendencies, ports in (
        (True, True, f"{T_LEGACY_LOAD}::test_transfer_learning_loading_updates_processors_when_enabled"),
        (False, False, f"{T_LEGACY_LOAD}::test_transfer_learning_loading_preserves_checkpoint_processors_when_disabled"),
        (True, False, "(new) states only"),
        (False, True, "(new) tendencies only"),
    ):
        case(f"legacy_tl_refresh_{'both' if states and tendencies else 'none' if not (states or tendencies) else 'states' if states else 'tendencies'}",
             ports, lm(output_idx=3), spec(lm(output_idx=5)), states=states, tendencies=tendencies,
             note="checkpoint made from a model with a longer _model_output_idx ([5]) than the current one ([3])")
    # the refresh keeps the model's own output indices even when the checkpoint's have its shape
    case("legacy_tl_refresh_tendencies_same_output_idx", "(new) *model_output_idx* kept by the refresh, not the size filter",
         lm(output_idx=3), spec(lm(output_idx=3)), states=False, tendencies=True)
    # shape mismatch / key not in target through the legacy filter
    src = spec(lm())
    src["model.model.decoder.data.weight"] = [5, 8]
    src["model.model.extra.weight"] = [2]
    del src["model.model.encoder.data.bias"]
    case("legacy_tl_shape_mismatch_and_unknown_key", "(new) legacy size-mismatch filter, strict=False load",
         lm(), src, states=False, tendencies=False)
    case("legacy_tl_populates_ckpt_indices", f"{T_LEGACY_LOAD}::test_transfer_learning_loading_populates_ckpt_indices_from_dict",
         lm(), spec(lm()), states=False, tendencies=False,
         data_indices={"era5": SimpleNamespace(name_to_index={"t2m": 0, "u10": 1}),
                       "cerra": SimpleNamespace(name_to_index={"t2m": 0, "tp": 1})})
    case("legacy_tl_old_data_indices_format", f"{T_LEGACY_LOAD}::test_transfer_learning_loading_raises_on_old_checkpoint_data_indices_format",
         lm(), spec(lm()), states=False, tendencies=False,
         data_indices=SimpleNamespace(name_to_index={"t2m": 0, "u10": 1}))
    # chunking migration through the legacy path: 4 layers in 2 chunks of 2
    target = lm(num_layers=4)
    chunked = {}
    for k, v in spec(target).items():
        if k.startswith("model.model.processor.proc."):
            parts = k.split(".")
            flat = int(parts[4])
            chunked[".".join(parts[:4] + [str(flat // 2), "blocks", str(flat % 2)] + parts[5:])] = v
        else:
            chunked[k] = v
    case("legacy_tl_chunking_migration", "(new) pre-0.11 chunked processor keys through transfer_learning_loading",
         target, chunked, states=False, tendencies=False, num_layers=4, num_chunks=2)
    return cases


def chunking_cases(up) -> list[dict]:
    cases = []

    def case(name, keys, num_layers, num_chunks, ports="(new) chunking_fix.migrate", note=None):
        ckpt = {"state_dict": {k: torch.zeros(1) for k in keys},
                "hyper_parameters": {"config": up.OmegaConf.create(
                    {"model": {"processor": {"num_layers": num_layers, "num_chunks": num_chunks}}})}}
        out: dict = {}
        try:
            res = up.chunking_fix_migration(ckpt)
            out["keys"] = list(res["state_dict"])
        except Exception as e:  # noqa: BLE001 - recorded
            out["error"] = error_of(e)
        c = {"name": name, "area": "chunking_migration",
             "api": "anemoi.models.migrations.scripts.1762857428_chunking_fix.migrate", "ports": ports,
             "inputs": {"keys": keys, "num_layers": num_layers, "num_chunks": num_chunks}, "outputs": out}
        if note:
            c["note"] = note
        cases.append(c)

    case("chunk_basic_4_layers_2_chunks", [
        "model.model.encoder.weight",
        "model.model.processor.proc.0.blocks.0.mlp.weight",
        "model.model.processor.proc.0.blocks.1.mlp.weight",
        "model.model.processor.proc.1.blocks.0.mlp.weight",
        "model.model.processor.proc.1.blocks.1.mlp.weight",
        "model.model.decoder.weight"], 4, 2)
    case("chunk_one_chunk", ["model.model.processor.proc.0.blocks.0.w", "model.model.processor.proc.0.blocks.2.w"], 3, 1)
    case("chunk_already_flat", ["model.model.processor.proc.0.mlp.weight", "model.model.processor.proc.1.mlp.weight"], 2, 2,
         note="keys whose 6th component is not 'blocks' are left alone")
    case("chunk_other_prefix_rewritten", ["x.y.processor.proc.1.blocks.0.w"], 4, 2,
         note="the new key is always built as 'model.model.processor.proc.<n>' regardless of the old prefix")
    case("chunk_shorter_prefix_ignored", ["model.processor.proc.0.blocks.1.w"], 4, 2,
         note="position 5 is '1', not 'blocks': untouched")
    case("chunk_block_without_rest", ["model.model.processor.proc.1.blocks.1"], 4, 2,
         note="no parameter name after the block index")
    case("chunk_too_short_key", ["model.model.processor.proc.0"], 2, 1,
         note="a key containing 'processor.proc' with fewer than 6 components")
    case("chunk_uneven_division", ["model.model.processor.proc.1.blocks.0.w", "model.model.processor.proc.2.blocks.0.w"], 5, 3,
         note="blocks_per_chunk = num_layers // num_chunks (integer division)")
    return cases


def pipeline_migration_cases(up) -> list[dict]:
    """LoadingStrategy._apply_format_migrations on checkpoints without hyper_parameters."""
    cases = []

    def case(name, ports, ckpt_keys, with_config, note=None):
        model = SimpleModel()
        sd = {k: torch.zeros(1) for k in ckpt_keys}
        data = {"state_dict": sd}
        if with_config:
            data["hyper_parameters"] = {"config": up.OmegaConf.create({"model": {"processor": {"num_layers": 4, "num_chunks": 2}}})}
        ctx = up.CheckpointContext(model=model, checkpoint_data=data)
        logs = capture_logs()
        out: dict = {}
        try:
            up.WeightsOnlyLoader()._apply_format_migrations(ctx)
            out["keys"] = list(ctx.checkpoint_data["state_dict"])
        except Exception as e:  # noqa: BLE001 - recorded
            out["error"] = error_of(e)
        out["logs"] = release_logs(logs)
        c = {"name": name, "area": "chunking_migration",
             "api": "checkpoint.loading.base.LoadingStrategy._apply_format_migrations", "ports": ports,
             "inputs": {"keys": ckpt_keys, "hyper_parameters_config": with_config}, "outputs": out}
        if note:
            c["note"] = note
        cases.append(c)

    case("pipeline_migration_incomplete_checkpoint", f"{T_MIG}::test_incomplete_checkpoint_shape_is_swallowed",
         ["model.model.processor.proc.0.blocks.1.w"], False)
    case("pipeline_migration_applied", f"{T_MIG}::test_apply_format_migrations_replaces_checkpoint_data",
         ["model.model.processor.proc.1.blocks.1.w", "model.model.encoder.w"], True)
    case("pipeline_migration_index_error_propagates", f"{T_MIG}::test_unexpected_migration_error_propagates",
         ["model.model.processor.proc.0"], True,
         note="only KeyError/AttributeError are swallowed; the migration's IndexError escapes")
    return cases


def canon(obj):
    """Make metadata etc. JSON-serialisable (deterministically)."""
    if isinstance(obj, dict):
        return {str(k): canon(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [canon(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, torch.Size):
        return list(obj)
    return repr(obj)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anemoi-git-dir", default=os.environ.get("ANEMOI_GIT_DIR"),
                    help="git dir or clone of ecmwf/anemoi-core (default: $ANEMOI_GIT_DIR)")
    ap.add_argument("--output", default=str(HERE / "expected.json"))
    args = ap.parse_args()
    if not args.anemoi_git_dir:
        ap.error("name a clone of https://github.com/ecmwf/anemoi-core: --anemoi-git-dir DIR or ANEMOI_GIT_DIR=DIR")

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="anemoi-core-") as tmpdir:
        tmp = Path(tmpdir)
        src_root = tmp / "src"
        commit = extract_upstream(args.anemoi_git_dir, src_root)
        stubs = install_stubs()

        import importlib

        from omegaconf import OmegaConf

        from anemoi.training.checkpoint.base import CheckpointContext
        from anemoi.training.checkpoint.loading.strategies import TransferLearningLoader
        from anemoi.training.checkpoint.loading.strategies import WarmStartLoader
        from anemoi.training.checkpoint.loading.strategies import WeightsOnlyLoader
        from anemoi.training.checkpoint.loading.utils import filter_state_dict
        from anemoi.training.checkpoint.modifiers.freezing import FreezingModifierStage
        from anemoi.training.utils import checkpoint as legacy

        update_fn, update_line = load_update_checkpoint_state_dict_for_load(src_root)
        LightningLike._update_fn = update_fn
        up = SimpleNamespace(
            OmegaConf=OmegaConf, CheckpointContext=CheckpointContext, FreezingModifierStage=FreezingModifierStage,
            TransferLearningLoader=TransferLearningLoader, WarmStartLoader=WarmStartLoader,
            WeightsOnlyLoader=WeightsOnlyLoader, filter_state_dict=filter_state_dict,
            freeze_submodule_by_name=legacy.freeze_submodule_by_name,
            transfer_learning_loading=legacy.transfer_learning_loading,
            chunking_fix_migration=importlib.import_module(
                "anemoi.models.migrations.scripts.1762857428_chunking_fix").migrate,
        )
        for name in ("anemoi.training.checkpoint.loading.strategies", "anemoi.training.utils.checkpoint",
                     "anemoi.models.migrations.scripts.1762857428_chunking_fix"):
            mod_file = Path(sys.modules[name].__file__)
            assert str(mod_file).startswith(str(src_root)), f"{name} not imported from upstream: {mod_file}"

        tmp_ckpts = tmp / "ckpts"
        tmp_ckpts.mkdir()
        cases = []
        cases += freezing_cases(up)
        cases += filter_cases(up)
        cases += loading_cases(up)
        cases += legacy_transfer_cases(up, tmp_ckpts)
        cases += chunking_cases(up)
        cases += pipeline_migration_cases(up)

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {
        "generator": "tests/data/anemoi_core/make_expected.py",
        "anemoi_core": {"repository": "https://github.com/ecmwf/anemoi-core", "commit": commit},
        "torch_version": torch.__version__.split("+")[0],
        "stubbed_modules": stubs,
        "update_checkpoint_state_dict_for_load_source":
            f"training/src/anemoi/training/train/methods/base.py:{update_line}",
        "cases": canon(cases),
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    Path(args.output).write_text(text)
    print(f"wrote {args.output}: {len(cases)} cases at anemoi-core {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
