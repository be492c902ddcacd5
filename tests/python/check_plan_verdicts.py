"""Property test: `taxon apply --dry-run` exits as the real run does, and PyTorch loads what a plan writes.

For every plan of the test data, run over the checkpoints and targets of the fixture families it
is meant for plus deliberately wrong pairings (a DDP checkpoint without `strip`, a target of
another model, a resized target without the resize step, a tie left out), it checks:
  - `--dry-run` (text and JSON; the real run's command plus --dry-run, and for a .pt output also
    without -o) exits with the real run's code, 0, 1 or 2;
  - exit 1 or 2 leaves nothing behind, exit 2 prints nothing on stdout, a dry run that exits 0 or 1
    prints its report, and the real run's report is the dry run's;
  - a nested .pt keeps its other entries, less optimizer and scheduler state (named in a note and
    the report) when the plan changed which tensors there are;
  - what the real run writes (.pt and .safetensors alternately) is read by torch, holds exactly
    the keys the report lists, and, where no tensor action or surgery touched it, the source's
    bytes;
  - with a target, a torch.nn.Module with the target's names and shapes (ties and non-persistent
    buffers as in the model) takes it with load_state_dict(strict) as the plan says, and PyTorch's
    own missing and unexpected keys are the report's;
  - an exit 1 is true: PyTorch refuses the state dict the plan would have written (or would take
    nothing from it), and the keys of another shape are the report's `mismatched`.
Then the regression cases of the issue that made the verdict one decision (commit c3c42a2).

Run by CTest with Debian's /usr/bin/python3; exits 77 (CTest: skipped) where that Python has no
torch. Usage: check_plan_verdicts.py TAXON_BINARY REPO_ROOT
"""
import collections
import concurrent.futures
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import torch
except ImportError:
    print("torch is not importable by this Python: skipped")
    sys.exit(77)

TAXON = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
DATA = os.path.join(ROOT, "tests", "data")
STARTED = time.monotonic()
WORK = tempfile.mkdtemp(prefix="taxon-verdicts-")

# Targets above this many elements are built on the meta device: shapes are all a load checks
# before it copies, and a 7B-parameter dump must not allocate 27 GB.
REAL_TENSORS_UP_TO = 10_000_000


def data(path):
    return os.path.join(DATA, path)


def run_taxon(args, cwd=None):
    try:
        done = subprocess.run([TAXON] + args, capture_output=True, text=True, timeout=120, cwd=cwd or ROOT)
    except subprocess.TimeoutExpired:
        return "a timeout (120 s)", "", ""
    return done.returncode, done.stdout, done.stderr


# ---------------------------------------------------------------- reading what taxon writes

SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "C64": torch.complex64, "C128": torch.complex128,
}


def safetensors_header(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(length)), 8 + length


def read_safetensors(path):
    """The file's tensors and metadata (Debian has no safetensors package), checked as strictly as
    the format asks: each tensor's byte count exact, their ranges tiling the data with no gap."""
    header, start = safetensors_header(path)
    metadata = header.pop("__metadata__", {})
    with open(path, "rb") as f:
        f.seek(start)
        blob = f.read()
    tensors, spans = collections.OrderedDict(), []
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES[entry["dtype"]]
        shape = entry["shape"]
        begin, end = entry["data_offsets"]
        size = math.prod(shape) * torch.tensor([], dtype=dtype).element_size()
        if end - begin != size:
            raise ValueError(f"{path}: {name} holds {end - begin} bytes for {shape} {entry['dtype']} ({size} expected)")
        spans.append((begin, end))
        if size == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            tensors[name] = torch.frombuffer(bytearray(blob[begin:end]), dtype=dtype).reshape(shape)
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ValueError(f"{path}: a gap or an overlap at byte {begin} of the data (expected {position})")
        position = end
    if position != len(blob):
        raise ValueError(f"{path}: {len(blob) - position} bytes after the last tensor")
    return tensors, metadata


def is_tensor_map(value):
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())


DEFAULT_ORDER = ["state_dict", "model_state_dict", "model", "module", ""]


def state_dict_key(root, order):
    """The entry taxon takes the state dict from (docs/checkpoints.md), "" for the root."""
    for key in order:
        candidate = root if key == "" else (root.get(key) if isinstance(root, dict) else None)
        if candidate is not None and is_tensor_map(candidate):
            return key
    raise ValueError(f"no state dict under {order}")


def read_sharded(folder):
    index = json.load(open(os.path.join(folder, "model.safetensors.index.json")))
    tensors = collections.OrderedDict()
    for shard in dict.fromkeys(index["weight_map"].values()):
        tensors.update(read_safetensors(os.path.join(folder, shard))[0])
    return tensors


_sources = {}


def source_state_dict(path, order):
    """A checkpoint's state dict as taxon finds it."""
    key = (path, tuple(order))
    if key not in _sources:
        if os.path.isdir(path):
            _sources[key] = read_sharded(path)
        elif path.endswith(".safetensors"):
            _sources[key] = read_safetensors(path)[0]
        else:
            root = torch.load(path, weights_only=False)
            entry = state_dict_key(root, order)
            _sources[key] = root if entry == "" else root[entry]
    return _sources[key]


def bits(tensor):
    return tensor.detach().contiguous().reshape(-1).view(torch.uint8)


def same_bits(a, b):
    return a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape) and torch.equal(bits(a), bits(b))


# ---------------------------------------------------------------- modules shaped like a target

def target_tensors(path):
    """[{name, shape, dtype, kind, persistent, tied_to}] of a model dump or a checkpoint target."""
    if path.endswith(".json"):
        return json.load(open(path))["tensors"]
    if path.endswith(".safetensors"):
        header, _ = safetensors_header(path)
        out = []
        for name, entry in header.items():
            if name != "__metadata__":
                dtype = SAFETENSORS_DTYPES[entry["dtype"]]
                out.append({"name": name, "shape": entry["shape"], "dtype": str(dtype).replace("torch.", ""),
                            "kind": "parameter" if dtype.is_floating_point or dtype.is_complex else "buffer"})
        return out
    tensors = source_state_dict(path, DEFAULT_ORDER)
    out, first = [], {}
    for name, tensor in tensors.items():
        entry = {"name": name, "shape": list(tensor.shape), "dtype": str(tensor.dtype).replace("torch.", ""),
                 "kind": "parameter" if tensor.is_floating_point() or tensor.is_complex() else "buffer"}
        # taxon ties two names of a checkpoint when they view the same bytes the same way.
        view = (tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)
        if tensor.numel() and view in first:
            entry["tied_to"] = first[view]
        elif tensor.numel():
            first[view] = name
        out.append(entry)
    return out


def build_module(tensors):
    """An nn.Module whose state_dict has exactly the target's names and shapes."""
    total = sum(math.prod(t["shape"]) for t in tensors)
    device = "cpu" if total <= REAL_TENSORS_UP_TO else "meta"
    root = torch.nn.Module()
    made = {}
    for t in tensors:
        *path, leaf = t["name"].split(".")
        module = root
        for part in path:
            module = module._modules.setdefault(part, torch.nn.Module())
        dtype = getattr(torch, t["dtype"])
        kind = t.get("kind", "parameter")
        if "tied_to" in t:
            value = made[t["tied_to"]]
        else:
            value = torch.zeros(t["shape"], dtype=dtype, device=device)
            if kind == "parameter":
                value = torch.nn.Parameter(value, requires_grad=dtype.is_floating_point or dtype.is_complex)
        # Straight into the tables state_dict() reads: a key may be named like a Module method
        # (extra/dtypes.pt has "bfloat16", "half", ...), which register_parameter and add_module refuse.
        if isinstance(value, torch.nn.Parameter):
            module._parameters[leaf] = value
        else:
            module._buffers[leaf] = value
            if not t.get("persistent", True):
                module._non_persistent_buffers_set.add(leaf)
        made[t["name"]] = value
    return root


# ---------------------------------------------------------------- the combinations

def plan_names(path):
    return re.findall(r"^\s*plan\s+([A-Za-z_][A-Za-z0-9_]*)", open(path, encoding="utf-8", errors="replace").read(), re.M)


def plan_block(path, name):
    text = open(path, encoding="utf-8", errors="replace").read()
    found = re.search(rf"^\s*plan\s+{name}\b(.*?)(?=^\s*plan\s|\Z)", text, re.M | re.S)
    return found.group(1) if found else ""


def source_order(path, name):
    if path.endswith((".yaml", ".yml")):
        return ["model", "state_dict_ema", "state_dict", ""]
    line = re.search(r"^\s*from\s+(.*)$", plan_block(path, name), re.M)
    if not line:
        return DEFAULT_ORDER
    return ["" if part.strip() == "root" else part.strip().strip('"') for part in line.group(1).split("|")]


def uses_actions(path, name):
    # Tensor actions dlopen LibTorch (~0.5 s a call): such combinations skip the text dry run.
    return re.search(r"^\s*(resize|resample|transform)\s", plan_block(path, name), re.M) is not None


def forms(model):
    return [f"ckpt/{model}/{form}" for form in
            ("model.safetensors", "ddp.pt", "legacy.pt", "state_dict.pt", "wrapped.pt", "model_bf16.safetensors")]


FAMILIES = {
    "vit": (forms("vit_tiny") + ["ckpt/extra/vit_compiled.pt", "ckpt/extra/vit_ema.pt", "ckpt/extra/vit_lightning.ckpt",
                                 "ckpt/extra/vit_fp16.safetensors", "ckpt/extra/vit_sharded"],
            ["dumps/vit_tiny.json", "dumps/vit_tiny_target.json", "ckpt/vit_tiny/model_target.safetensors",
             "ckpt/vit_tiny/state_dict_target.pt", "dumps/derived/vit_tiny_ddp.json", None]),
    "swin": (forms("swin_tiny"),
             ["dumps/swin_tiny.json", "dumps/swin_tiny_target.json", "ckpt/swin_tiny/model_target.safetensors",
              "ckpt/swin_tiny/state_dict_target.pt", None]),
    "llama": (forms("llama_tiny") + ["ckpt/extra/llama_tied.pt", "ckpt/extra/llama_tied_sd.pt"],
              ["dumps/llama_tiny.json", "dumps/llama_tiny_target.json", "ckpt/llama_tiny/model_target.safetensors",
               "ckpt/llama_tiny/state_dict_target.pt", "ckpt/extra/llama_tied.pt", None]),
    "tied_bn": (["verdicts/tied_bn.pt", "verdicts/tied_bn_ddp.pt", "verdicts/tied_bn_untied.safetensors"],
                ["verdicts/tied_bn.json", "verdicts/tied_bn.pt", None]),
}
# Combinations of each generic plan with each family, rotated over its forms and targets.
PER_FAMILY = {"vit": 2, "swin": 2, "llama": 2, "tied_bn": 1}

ADAPT, INTERP, TRAINER, HONEST = "plans/adapt.tx", "plans/interpolate.tx", "plans/trainer_load.tx", "plans/honest.tx"
SURGERY_ERRORS, VERDICTS = "plans/surgery_errors.tx", "verdicts/plans.tx"
STITCH = ["ckpt/stitch/convnext_src.pt", "ckpt/stitch/rope_vit_src.pt"]
VIT, SWIN, LLAMA = "ckpt/vit_tiny/", "ckpt/swin_tiny/", "ckpt/llama_tiny/"

# Plans written for particular fixtures, with the checkpoints and targets they are meant for.
SPECIFIC = {
    (ADAPT, "vocab_change"): [([LLAMA + "ddp.pt"], "dumps/llama_tiny_target.json"),
                              ([LLAMA + "ddp.pt"], "ckpt/llama_tiny/model_target.safetensors"),
                              ([LLAMA + "ddp.pt"], None), ([SWIN + "ddp.pt"], "dumps/swin_tiny_target.json")],
    (ADAPT, "vocab_change_strict"): [([LLAMA + "ddp.pt"], "dumps/llama_tiny_target.json"),
                                     ([LLAMA + "ddp.pt"], "dumps/llama_tiny.json"),
                                     ([VIT + "ddp.pt"], "dumps/vit_tiny_target.json")],
    (ADAPT, "reshuffle"): [([VIT + "wrapped.pt"], "dumps/vit_tiny.json"), ([VIT + "model.safetensors"], None),
                           (["ckpt/extra/vit_ema.pt"], "dumps/vit_tiny.json"),
                           (["ckpt/extra/vit_lightning.ckpt"], "dumps/vit_tiny_target.json")],
    (ADAPT, "collide"): [([VIT + "model.safetensors"], None), ([VIT + "state_dict.pt"], "dumps/vit_tiny.json")],
    (ADAPT, "interpolate"): [([VIT + "model.safetensors"], "dumps/vit_tiny_target.json")],
    (ADAPT, "shift"): [([VIT + "model.safetensors"], None), ([VIT + "legacy.pt"], "dumps/vit_tiny.json")],
    (INTERP, "vit_grid"): [([VIT + "model.safetensors"], "dumps/vit_tiny_target.json"),
                           ([VIT + "model_bf16.safetensors"], "ckpt/vit_tiny/model_target.safetensors")],
    (INTERP, "swin_window"): [([SWIN + "model.safetensors"], "dumps/swin_tiny_target.json"),
                              ([SWIN + "legacy.pt"], "ckpt/swin_tiny/state_dict_target.pt")],
    (INTERP, "swin_unchanged"): [([SWIN + "model.safetensors"], "dumps/swin_tiny_target.json"),
                                 ([SWIN + "state_dict.pt"], "dumps/swin_tiny.json")],
    (INTERP, "not_a_grid"): [([VIT + "model.safetensors"], "dumps/vit_tiny.json"), ([SWIN + "model.safetensors"], None)],
    (INTERP, "to_bf16"): [([LLAMA + "model.safetensors"], "dumps/llama_tiny.json")],
    ("plans/bad_templates.tx", "bad_template"): [([VIT + "model.safetensors"], None)],
    ("plans/unknown_action.tx", "typos"): [([VIT + "model.safetensors"], "dumps/vit_tiny.json")],
    ("surgery/plan.tx", "surgery"): [(["surgery/input.safetensors"], "surgery/expected.safetensors")],
    ("surgery/mixtral.tx", "mixtral_v5"): [(["surgery/mixtral_v4.safetensors"], "surgery/mixtral_v5.safetensors"),
                                           (["surgery/mixtral_v5.safetensors"], "surgery/mixtral_v5.safetensors")],
    ("surgery/mixtral.tx", "mixtral_v4"): [(["surgery/mixtral_v5.safetensors"], "surgery/mixtral_v4.safetensors"),
                                           (["surgery/mixtral_v5.safetensors"], None)],
    ("../../stdlib/linnaeus/stitched_mformer.tx", "stitched_mformer"): [
        (STITCH, "dumps/mformer_tiny.json"), (STITCH, "ckpt/stitch/mformer_tiny.safetensors"), (STITCH, None),
        (STITCH[::-1], "dumps/mformer_tiny.json")],
    (HONEST, "beit_384"): [(["beit_tables/beit_224.safetensors"], "beit_tables/beit_384.json")],
    (HONEST, "beit_no_extra_rows"): [(["beit_tables/beit_224.safetensors"], "beit_tables/beit_384.json")],
    (HONEST, "pos_embed_no_prefix"): [(["beit_tables/beit_224.safetensors"], "beit_tables/beit_384.json")],
    (HONEST, "mismatch_not_skipped"): [([SWIN + "model.safetensors"], "dumps/swin_tiny_target.json"),
                                       ([LLAMA + "state_dict.pt"], "ckpt/llama_tiny/model_target.safetensors"),
                                       ([LLAMA + "state_dict.pt"], "dumps/llama_tiny.json")],
    (HONEST, "loads_nothing"): [([VIT + "ddp.pt"], "dumps/vit_tiny.json"), ([SWIN + "ddp.pt"], "dumps/swin_tiny.json")],
    # A nested checkpoint with an optimizer, written as .pt: the optimizer must be left out.
    (HONEST, "drop_head"): [(["ckpt/extra/vit_ema.pt"], None, ".pt"),
                            (["ckpt/extra/vit_ema.pt"], "dumps/vit_tiny.json", ".pt"),
                            ([VIT + "wrapped.pt"], "dumps/vit_tiny.json", ".pt")],
    ("plans/bad_action_options.tx", "bad_options"): [([VIT + "model.safetensors"], None)],
    ("rules/linnaeus/plans/mformer_pretrained.yaml", None): [
        (["ckpt/stitch/mformer_tiny.safetensors"], "dumps/mformer_tiny.json"),
        (["ckpt/stitch/mformer_tiny.safetensors"], None)],
}
for name in plan_names(data(SURGERY_ERRORS)):
    SPECIFIC[(SURGERY_ERRORS, name)] = [(["surgery/input.safetensors"], None)]
SPECIFIC[(SURGERY_ERRORS, "rows_without_init")].append((["surgery/input.safetensors"], "surgery/expected.safetensors"))

# Pairings that must not load, and a few that load only because the target is shaped so.
DELIBERATE = [
    (ADAPT, "identity", [VIT + "ddp.pt"], "dumps/vit_tiny.json"),  # DDP without strip, lenient: nothing loads
    (TRAINER, "strict_as_is", [SWIN + "ddp.pt"], "dumps/swin_tiny.json"),
    (ADAPT, "unwrap", [LLAMA + "ddp.pt"], "dumps/vit_tiny.json"),  # another model
    (ADAPT, "vocab_change", [LLAMA + "ddp.pt"], "dumps/swin_tiny.json"),
    ("../../stdlib/prefixes.tx", "unwrap_ddp", [VIT + "ddp.pt"], "dumps/vit_tiny_target.json"),  # no resample
    (VERDICTS, "unwrap_lenient", [VIT + "ddp.pt"], "dumps/vit_tiny_target.json"),
    (ADAPT, "identity", [VIT + "model.safetensors"], "dumps/vit_tiny_target.json"),
    (TRAINER, "strict_as_is", [SWIN + "model.safetensors"], "ckpt/swin_tiny/model_target.safetensors"),
    (TRAINER, "strict_as_is", [VIT + "model.safetensors"], "dumps/vit_b16.json"),
    (ADAPT, "identity", [LLAMA + "model.safetensors"], "dumps/llama2_7b.json"),
    (ADAPT, "identity", [SWIN + "model.safetensors"], "dumps/swin_t.json"),
    (VERDICTS, "wrap_ddp", [VIT + "model.safetensors"], "dumps/derived/vit_tiny_ddp.json"),
    (TRAINER, "strict_as_is", [VIT + "ddp.pt"], "dumps/derived/vit_tiny_ddp.json"),
    (VERDICTS, "misrename", [VIT + "model.safetensors"], "dumps/vit_tiny.json"),
    # A tie: PyTorch's strict load wants both of its names.
    (VERDICTS, "drop_tied_strict", ["verdicts/tied_bn.pt"], "verdicts/tied_bn.json"),
    (TRAINER, "strict_as_is", ["verdicts/tied_bn_untied.safetensors"], "verdicts/tied_bn.json"),
    (TRAINER, "strict_as_is", [LLAMA + "model.safetensors"], "ckpt/extra/llama_tied.pt"),
    (VERDICTS, "drop_tied_strict", [LLAMA + "model.safetensors"], "ckpt/extra/llama_tied.pt"),
    # Odd checkpoints into themselves: int, bool and complex buffers, views.
    (TRAINER, "strict_as_is", ["ckpt/extra/buffers.pt"], "ckpt/extra/buffers.pt"),
    (VERDICTS, "drop_buffers_strict", ["ckpt/extra/buffers.pt"], "ckpt/extra/buffers.pt"),
    (ADAPT, "identity", ["ckpt/extra/dtypes.pt"], "ckpt/extra/dtypes.pt", ".pt"),
    # complex128, which safetensors cannot hold: the dry run must refuse it as the real run does.
    (ADAPT, "identity", ["ckpt/extra/dtypes.pt"], None, ".safetensors"),
    (ADAPT, "identity", ["ckpt/extra/dtypes.safetensors"], "ckpt/extra/dtypes.pt"),
    (TRAINER, "strict_as_is", ["ckpt/extra/dtypes_c64.safetensors"], "ckpt/extra/dtypes_c64.safetensors"),
    (TRAINER, "strict_as_is", ["ckpt/extra/views.pt"], "ckpt/extra/views.pt"),
    # Lightning's optimizer_states and lr_schedulers: kept through a strip, left out when a key is dropped.
    ("../../stdlib/prefixes.tx", "unwrap_lightning", ["ckpt/extra/vit_lightning.ckpt"], "dumps/vit_tiny.json", ".pt"),
    (VERDICTS, "lightning_drop_head", ["ckpt/extra/vit_lightning.ckpt"], "dumps/vit_tiny.json", ".pt"),
    ("plans/pass_through.tx", "pass_through", ["ckpt/extra/scripted.pt"], None),
    (VERDICTS, "drop_everything", [VIT + "model.safetensors"], None),
]


def normalize(path):
    return None if path is None else os.path.normpath(data(path))


def combinations():
    out, seen = [], set()

    def add(plan_file, plan, ckpts, target, why, suffix=None):
        key = (normalize(plan_file), plan, tuple(normalize(c) for c in ckpts), normalize(target), suffix)
        if key not in seen:
            seen.add(key)
            out.append({"plan_file": key[0], "plan": plan, "ckpts": list(key[2]), "target": key[3], "why": why,
                        "suffix": suffix})

    plan_files = sorted("plans/" + f for f in os.listdir(data("plans")) if f.endswith(".tx"))
    plan_files += ["../../stdlib/prefixes.tx"] + sorted(
        "../../stdlib/linnaeus/" + f for f in os.listdir(os.path.join(ROOT, "stdlib", "linnaeus")) if f.endswith(".tx"))
    plan_files += [VERDICTS, "surgery/plan.tx", "surgery/mixtral.tx"]
    generic = 0
    found = set()
    for plan_file in plan_files:
        for plan in plan_names(data(plan_file)):
            found.add((plan_file, plan))
            if (plan_file, plan) in SPECIFIC:
                for ckpts, target, *suffix in SPECIFIC[(plan_file, plan)]:
                    add(plan_file, plan, ckpts, target, "its fixtures", *suffix)
                continue
            # A plan for no fixture in particular meets every family, its forms and targets rotated;
            # once a family when it runs tensor actions, which cost LibTorch's start each call.
            for family, (ckpts, targets) in FAMILIES.items():
                count = 1 if uses_actions(data(plan_file), plan) else PER_FAMILY[family]
                for i in range(count):
                    k = generic * PER_FAMILY[family] + i
                    add(plan_file, plan, [ckpts[k % len(ckpts)]], targets[(k + generic) % len(targets)], family)
            generic += 1
    for (plan_file, plan), pairs in SPECIFIC.items():
        if plan is None:
            for ckpts, target, *suffix in pairs:
                add(plan_file, plan, ckpts, target, "its fixtures", *suffix)
    for plan_file, plan, ckpts, target, *suffix in DELIBERATE:
        add(plan_file, plan, ckpts, target, "deliberate", *suffix)
    # A renamed plan would otherwise turn its pairings into exits 2 that prove nothing.
    stale = {(f, p) for f, p in list(SPECIFIC) + [(d[0], d[1]) for d in DELIBERATE] if p is not None} - found
    if stale:
        raise SystemExit(f"plans named here and not found in their files: {sorted(stale)}")
    # The bad-input corpus through its plan, and malformed rule files as plans: exit 2, both ways.
    bad = data("bad")
    for name in sorted(os.listdir(bad)):
        if name.startswith("rules_") and name.endswith(".tx"):
            add("bad/" + name, None, [VIT + "model.safetensors"], "dumps/vit_tiny.json", "bad plan")
        elif name.endswith((".pt", ".safetensors")) or name.startswith("sharded_"):
            add("plans/pass_through.tx", "pass_through", ["bad/" + name], None, "bad input")
    return out


# ---------------------------------------------------------------- running and judging one

def command(combo, extra):
    args = ["apply", combo["plan_file"]] + combo["ckpts"]
    if combo["plan"]:
        args += ["--plan", combo["plan"]]
    if combo["target"]:
        args += ["--target", combo["target"]]
    return args + extra


def shown(args):
    return "taxon " + " ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in args)


def execute(index, combo):
    began = time.monotonic()
    folder = os.path.join(WORK, f"c{index:03}")
    os.mkdir(folder)
    combo["out"] = os.path.join(folder, "out" + (combo["suffix"] or (".pt" if index % 2 == 0 else ".safetensors")))
    combo["real_format"] = "json" if index // 2 % 2 == 0 else "text"
    # A dry run is the real run's command plus --dry-run: with -o it knows the output's format (a
    # complex128 tensor cannot go to safetensors). Without -o it must agree with a .pt output,
    # which holds anything a checkpoint can: the text dry run of a .pt combination leaves -o out.
    combo["dry_json_args"] = command(combo, ["--dry-run", "--format", "json", "-o", combo["out"]])
    combo["dry_json"] = run_taxon(combo["dry_json_args"])
    if combo["plan"] and uses_actions(combo["plan_file"], combo["plan"]):
        combo["dry_text_args"], combo["dry_text"] = None, None
    else:
        to_safetensors = combo["out"].endswith(".safetensors")
        combo["dry_text_args"] = command(combo, ["--dry-run"] + (["-o", combo["out"]] if to_safetensors else []))
        combo["dry_text"] = run_taxon(combo["dry_text_args"])
    combo["real_args"] = command(combo, ["-o", combo["out"], "--format", combo["real_format"]])
    combo["real"] = run_taxon(combo["real_args"])
    combo["seconds"] = time.monotonic() - began
    combo["left_behind"] = sorted(set(os.listdir(folder)) - {os.path.basename(combo["out"])})
    return combo


class Failed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failed(message)


stats = collections.Counter()


def judge(combo):
    code, out, err = combo["real"]
    stats[code] += 1
    runs = [("dry run --format json", combo["dry_json_args"], combo["dry_json"])]
    if combo["dry_text"]:
        runs.append(("dry run", combo["dry_text_args"], combo["dry_text"]))
    runs.append(("real run", combo["real_args"], combo["real"]))
    for what, args, (rc, stdout, stderr) in runs:
        check(rc in (0, 1, 2), f"{what} exited {rc}: {shown(args)}\n{stderr[-2000:]}")
        check(rc == code, f"{what} exited {rc} and the real run {code}:\n  {shown(args)}\n  {shown(combo['real_args'])}\n"
                          f"{what}'s stderr: {stderr[-1500:]}\nthe real run's stderr: {err[-1500:]}")
        if rc == 2:
            check(stdout == "", f"exit 2 printed on stdout: {shown(args)}\n{stdout[:500]}")
            check(stderr.strip() != "", f"exit 2 without a message: {shown(args)}")
    check(not combo["left_behind"], f"files left beside the output: {combo['left_behind']}")
    if code != 0:
        check(not os.path.exists(combo["out"]), f"exit {code} and {combo['out']} exists: {shown(combo['real_args'])}")
    if code == 2:
        return
    report = json.loads(combo["dry_json"][1])
    if combo["dry_text"]:
        check(combo["dry_text"][1].startswith("plan "), f"the dry run printed no report: {shown(combo['dry_text_args'])}")
    check(report["load"]["checked"] == (combo["target"] is not None),
          f"load.checked is {report['load']['checked']}: {shown(combo['dry_json_args'])}")
    planned = planned_state(combo, report)
    if code == 1:
        check(combo["target"] is not None, f"exit 1 without a target: {shown(combo['real_args'])}")
        check(report["load"]["fails"] and report["load"]["reasons"],
              f"exit 1 and the report's load does not fail: {report['load']}")
        check("error[T0803]" in err and "nothing was written" in err, f"exit 1 without T0803 on stderr: {err[:500]}")
        if planned is not None:
            confirm_refusal(combo, report, planned)
        return
    check(not report["load"]["fails"], f"exit 0 and the report says the load fails: {report['load']}")
    check(os.path.exists(combo["out"]), f"exit 0 and nothing at {combo['out']}: {shown(combo['real_args'])}")
    if combo["real_format"] == "json":
        written = json.loads(out)
        check(written["output"] == combo["out"], f"the report names {written['output']} as the output")
        for key in report:
            if key != "output":
                check(written[key] == report[key], f"the real run's report differs from the dry run's in {key!r}: "
                                                   f"{written[key]} against {report[key]}")
    else:
        check(out.rstrip("\n").endswith(f"-> {combo['out']}"),
              f"the real run's report does not name its output:\n{out[-300:]}")

    state = read_output(combo)
    names = [t["name"] for t in report["tensors"]]
    check(sorted(state) == sorted(names), f"the file holds {sorted(set(state) ^ set(names))} against the report")
    stats["read by torch"] += 1
    if planned is not None:
        for name, tensor in planned.items():
            check(same_bits(state[name], tensor), f"{name} is not its source's bytes")
        stats["compared bit for bit"] += 1
    if combo["target"]:
        load_into_target(combo, report, state)


def planned_state(combo, report):
    """What the plan makes of a single source's tensors, when it only renames, copies and drops."""
    if len(combo["ckpts"]) != 1 or report["transformed"] or report["surgery"]:
        return None
    source = source_state_dict(combo["ckpts"][0], source_order(combo["plan_file"], combo["plan"]) if combo["plan"]
                               else DEFAULT_ORDER)
    return collections.OrderedDict((t["name"], source[t["from"]]) for t in report["tensors"])


def confirm_refusal(combo, report, planned):
    """Exit 1 is true: PyTorch refuses the result, or would take nothing from it."""
    module = build_module(target_tensors(combo["target"]))
    wanted = module.state_dict()
    mismatched = sorted(n for n, t in planned.items() if n in wanted and tuple(wanted[n].shape) != tuple(t.shape))
    check(mismatched == sorted(m["tensor"] for m in report["mismatched"]),
          f"mismatched: PyTorch's shapes give {mismatched}, the report {[m['tensor'] for m in report['mismatched']]}")
    taken = len(planned) - len(mismatched) - sum(1 for n in planned if n not in wanted)
    try:
        module.load_state_dict(planned, strict=report["strict"])
        refused = False
    except RuntimeError:
        refused = True
    check(refused or taken == 0, f"taxon says the load would fail, and PyTorch takes {taken} keys without complaint: "
                                 f"{shown(combo['real_args'])}\n{combo['real'][2]}")
    stats["exit 1 confirmed by PyTorch"] += 1


_roots = {}


def checkpoint_root(path):
    if path not in _roots:
        _roots[path] = torch.load(path, weights_only=False)
    return _roots[path]


def nested_source(combo):
    """The single .pt input's root and the entry holding its state dict, when that is not the root."""
    if len(combo["ckpts"]) != 1 or os.path.isdir(combo["ckpts"][0]) or combo["ckpts"][0].endswith(".safetensors"):
        return None, None
    root = checkpoint_root(combo["ckpts"][0])
    entry = state_dict_key(root, source_order(combo["plan_file"], combo["plan"]) if combo["plan"] else DEFAULT_ORDER)
    return (root, entry) if entry != "" else (None, None)


POSITIONAL = {"optimizer", "optimizer_state_dict", "optimizer_states", "lr_schedulers", "lr_scheduler", "scheduler",
              "optim"}


def is_optimizer_state(value):
    return isinstance(value, dict) and "state" in value and "param_groups" in value


def refers_by_position(key, value):
    """An entry whose state follows the parameters' order (docs/checkpoints.md): an optimizer's, or
    Lightning's lists of them and its schedulers."""
    return (key in POSITIONAL or is_optimizer_state(value)
            or (isinstance(value, list) and value and all(is_optimizer_state(v) for v in value)))


def changes_tensors(combo, report):
    """Whether the plan changed a tensor's name, presence or shape (strip, prefix and casts do not)."""
    if any(report[k] for k in ("dropped", "renamed", "copied", "surgery", "skipped_mismatched", "not_in_target")):
        return True
    source = source_state_dict(combo["ckpts"][0], source_order(combo["plan_file"], combo["plan"]) if combo["plan"]
                               else DEFAULT_ORDER)
    origin = {t["name"]: t["from"] for t in report["tensors"]}
    shape = {name: list(source[origin[name]].shape) for name in origin}
    for step in report["transformed"]:
        if step["shape"] != shape[step["tensor"]]:
            return True
        shape[step["tensor"]] = step["shape"]
    return False


def read_output(combo):
    """The written state dict, taken where taxon put it."""
    out, err = combo["out"], combo["real"][2]
    original, entry = nested_source(combo)
    if out.endswith(".safetensors"):
        state, metadata = read_safetensors(out)
        plan = combo["plan"] or json.loads(combo["dry_json"][1])["plan"]
        check(metadata.get("taxon.plan") == plan, f"__metadata__ taxon.plan is {metadata.get('taxon.plan')!r}")
        if original is not None:
            check("holds more than the state dict" in err, f"no note that safetensors dropped the other entries: {err}")
        return state
    root = torch.load(out, weights_only=False)
    if original is None:
        check(is_tensor_map(root), f"a plain state dict was written as {type(root).__name__}")
        torch.load(out, weights_only=True)  # docs/checkpoints.md: plain state dicts load with weights_only=True
        return root
    check(isinstance(root, dict) and is_tensor_map(root.get(entry)), f"the state dict is not at {entry!r} of the output")
    left_out = [entry["entry"] for entry in json.loads(combo["dry_json"][1])["left_out"]]
    changed = changes_tensors(combo, json.loads(combo["dry_json"][1]))
    for key, value in original.items():
        if key == entry:
            continue
        if changed and refers_by_position(key, value):
            check(key not in root, f"{key!r} pairs state with parameters by position, the plan changed the parameters, "
                                   f"and {key!r} was kept")
            check(key in left_out, f"{key!r} was left out and the report's left_out is {left_out}")
            check(any(line.startswith("note:") and key in line for line in err.splitlines()),
                  f"no note names the left-out {key!r}: {err}")
            stats["positional entries left out"] += 1
        else:
            check(key in root, f"the nested checkpoint lost {key!r}")
            check(key not in left_out, f"{key!r} is reported left out and is in the output")
    return root[entry]


def load_into_target(combo, report, state):
    tensors = target_tensors(combo["target"])
    module = build_module(tensors)
    strict = report["strict"]
    try:
        result = module.load_state_dict(state, strict=strict)
    except Exception as error:  # noqa: BLE001 -- whatever PyTorch raises is the failure being tested for
        raise Failed(f"PyTorch refused what a `load strict = {str(strict).lower()}` plan wrote: "
                     f"{shown(combo['real_args'])}\ntaxon's dry run: load {report['load']}, missing {report['missing']}, "
                     f"unexpected {report['unexpected']}\n"
                     f"PyTorch: {str(error).strip()[:1500]}")
    stats["loaded into the target"] += 1
    # PyTorch's own lists against the report's. taxon writes both names of a tie the target has
    # (docs/checkpoints.md), so the lists agree exactly.
    check(set(result.missing_keys) == set(report["missing"]),
          f"missing: PyTorch {sorted(result.missing_keys)}, the report {sorted(report['missing'])}")
    check(set(result.unexpected_keys) == set(report["unexpected"]),
          f"unexpected: PyTorch {sorted(result.unexpected_keys)}, the report {sorted(report['unexpected'])}")
    wanted = module.state_dict()
    loaded = sum(1 for n, t in state.items() if n in wanted and tuple(wanted[n].shape) == tuple(t.shape))
    check(loaded == report["load"]["loaded"], f"{loaded} keys loaded, the report says {report['load']['loaded']}")


# ---------------------------------------------------------------- regression cases (commit c3c42a2)

def write_plan(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def both(args, out):
    """The dry run and the real run of one command: both exit codes, the real run's streams."""
    dry = run_taxon(args + ["--dry-run", "--format", "json"])
    real = run_taxon(args + ["-o", out])
    return dry, real


def case_resnet_ddp():
    """A torchvision resnet18 saved from DDP into a 10-class resnet18: fc does not fit."""
    try:
        import torchvision
    except ImportError:
        raise Failed("torchvision is not importable: install python3-torchvision (scripts/setup.sh)")
    torch.manual_seed(0)
    source = torchvision.models.resnet18(weights=None).state_dict()
    ckpt = os.path.join(WORK, "resnet18_ddp.pt")
    torch.save({"module." + k: v for k, v in source.items()}, ckpt)
    dump = os.path.join(WORK, "resnet18_10.json")
    made = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "dump_model.py"), "torchvision.models:resnet18",
                           "--kwargs", '{"num_classes": 10}', "-o", dump], capture_output=True, text=True)
    check(made.returncode == 0, f"tools/dump_model.py failed: {made.stderr}")
    for strict in ("true", "false"):
        plan = write_plan(f"resnet_{strict}.tx", f'plan p {{\n  strip "module."\n  load strict = {strict}\n}}\n')
        out = os.path.join(WORK, f"resnet_{strict}.pt")
        dry, real = both(["apply", plan, ckpt, "--target", dump], out)
        check(dry[0] == 1 and real[0] == 1, f"strict = {strict}: exits {dry[0]} (dry run) and {real[0]}, not 1")
        mismatched = sorted(m["tensor"] for m in json.loads(dry[1]).get("mismatched", []))
        check(mismatched == ["fc.bias", "fc.weight"], f"strict = {strict}: mismatched lists {mismatched}")
        check(not os.path.exists(out), f"strict = {strict}: {out} was written")
    plan = write_plan("resnet_skip.tx", 'plan p {\n  strip "module."\n  skip mismatched\n  load strict = false\n}\n')
    out = os.path.join(WORK, "resnet_skip.pt")
    dry, real = both(["apply", plan, ckpt, "--target", dump], out)
    check(dry[0] == 0 and real[0] == 0, f"skip mismatched: exits {dry[0]} (dry run) and {real[0]}, not 0: {real[2]}")
    written = torch.load(out, weights_only=True)
    model = torchvision.models.resnet18(weights=None, num_classes=10)
    result = model.load_state_dict(written, strict=False)
    check(sorted(result.missing_keys) == ["fc.bias", "fc.weight"] and not result.unexpected_keys,
          f"PyTorch: missing {result.missing_keys}, unexpected {result.unexpected_keys}")
    after = model.state_dict()
    for name, tensor in source.items():
        if not name.startswith("fc."):
            check(same_bits(written[name], tensor) and same_bits(after[name], tensor), f"{name} changed on its way")
    check(set(written) == set(source) - {"fc.weight", "fc.bias"}, "the output holds other keys than the source less fc")


def case_loads_nothing():
    """A DDP checkpoint into the bare model without strip, leniently: nothing loads, and the hint says why."""
    plan = write_plan("nothing.tx", "plan p {\n  load strict = false\n}\n")
    out = os.path.join(WORK, "nothing.safetensors")
    dry, real = both(["apply", plan, data("ckpt/vit_tiny/ddp.pt"), "--target", data("dumps/vit_tiny.json")], out)
    check(dry[0] == 1 and real[0] == 1, f"exits {dry[0]} (dry run) and {real[0]}, not 1")
    check('strip "module."' in real[2] and 'strip "module."' in dry[2], f"no strip hint on stderr: {real[2]}")
    check(not os.path.exists(out), f"{out} was written")


def case_optimizer():
    """A nested .pt with AdamW state: dropped when the plan changes which tensors there are, kept otherwise."""
    torch.manual_seed(0)

    def trained():
        model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
        model(torch.randn(3, 4)).sum().backward()
        optimizer.step()
        return model, optimizer

    model, optimizer = trained()
    ckpt = os.path.join(WORK, "nested.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3}, ckpt)
    drop = write_plan("drop_bias.tx", 'plan p {\n  drop name == "2.bias"\n  load strict = false\n}\n')

    out = os.path.join(WORK, "dropped.pt")
    code, _, err = run_taxon(["apply", drop, ckpt, "-o", out])
    check(code == 0, f"drop: exit {code}: {err}")
    written = torch.load(out, weights_only=False)
    check("optimizer" not in written, "the optimizer's positional state was kept after a parameter was dropped")
    check(written.get("epoch") == 3, f"epoch is {written.get('epoch')!r}")
    check(list(written["model"]) == ["0.weight", "0.bias", "2.weight"], f"model holds {list(written['model'])}")
    check(any(line.startswith("note:") and "optimizer" in line for line in err.splitlines()),
          f"no note names optimizer: {err}")

    out = os.path.join(WORK, "state_only.pt")
    code, _, err = run_taxon(["apply", drop, ckpt, "--state-dict-only", "-o", out])
    check(code == 0, f"--state-dict-only: exit {code}: {err}")
    alone = torch.load(out, weights_only=True)
    check(is_tensor_map(alone) and list(alone) == ["0.weight", "0.bias", "2.weight"],
          f"--state-dict-only wrote {list(alone)}")

    same = write_plan("same.tx", "plan p {\n  load strict = false\n}\n")
    out = os.path.join(WORK, "same.pt")
    code, _, err = run_taxon(["apply", same, ckpt, "-o", out])
    check(code == 0, f"identity: exit {code}: {err}")
    kept = torch.load(out, weights_only=False)
    check("optimizer" in kept and kept["epoch"] == 3, f"identity: entries {list(kept)}")
    fresh, fresh_optimizer = trained()
    fresh.load_state_dict(kept["model"], strict=True)
    fresh_optimizer.load_state_dict(kept["optimizer"])
    for index, state in optimizer.state_dict()["state"].items():
        for key, value in state.items():
            check(same_bits(fresh_optimizer.state_dict()["state"][index][key], value),
                  f"optimizer state {index}.{key} changed")
    fresh(torch.randn(3, 4)).sum().backward()
    fresh_optimizer.step()
    check(all(torch.isfinite(p).all() for p in fresh.parameters()),
          "a step from the kept optimizer state gave non-finite weights")


def case_output_first():
    """An output in a missing directory is refused before any input is read."""
    missing_input = os.path.join(WORK, "does_not_exist.pt")
    plan = data("plans/pass_through.tx")
    for extra in ([], ["--dry-run"]):
        code, out, err = run_taxon(["apply", plan, missing_input, "-o", "nodir/sub/out.pt"] + extra, cwd=WORK)
        check(code == 2, f"{extra}: exit {code}, not 2")
        check(out == "", f"{extra}: stdout: {out}")
        check("nodir/sub" in err and "does_not_exist" not in err, f"{extra}: the message is not about the output: {err}")
    check(not os.path.exists(os.path.join(WORK, "nodir")), "the missing directory was created")


REGRESSIONS = [case_resnet_ddp, case_loads_nothing, case_optimizer, case_output_first]


# ---------------------------------------------------------------- main

def main():
    try:
        return run_all()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)


def run_all():
    combos = combinations()
    everything = len(combos)
    # The sanitizer build runs taxon ~10x slower; it checks memory, not verdicts, so it may take
    # every Nth combination (TAXON_PROPERTY_STRIDE, set by the asan test preset) - the Release run
    # takes them all.
    stride = max(1, int(os.environ.get("TAXON_PROPERTY_STRIDE", "1") or "1"))
    combos = combos[::stride]
    workers = max(2, os.cpu_count() or 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        combos = list(pool.map(lambda pair: execute(*pair), enumerate(combos)))
    ran = time.monotonic()
    passed, failures = 0, []
    for combo in combos:
        try:
            judge(combo)
            passed += 1
        except Exception as error:  # noqa: BLE001 -- every failure is reported with its combination
            detail = str(error) if isinstance(error, Failed) else traceback.format_exc()
            failures.append(f"{shown(combo['real_args'])} [{combo['why']}]\n  {detail}")
    judged = time.monotonic()
    for case in REGRESSIONS:
        try:
            case()
            passed += 1
            print("ok", case.__doc__.strip().splitlines()[0])
        except Exception as error:  # noqa: BLE001
            detail = str(error) if isinstance(error, Failed) else traceback.format_exc()
            failures.append(f"{case.__name__}: {case.__doc__.strip()}\n  {detail}")
    for failure in failures:
        print("FAILED", failure, "\n")
    print(f"{len(combos)} combinations: {stats[0]} exited 0, {stats[1]} exited 1, {stats[2]} exited 2; "
          f"{stats['read by torch']} written files read by torch, {stats['loaded into the target']} loaded into their "
          f"target with load_state_dict, {stats['compared bit for bit']} compared bit for bit with their source; "
          f"{stats['exit 1 confirmed by PyTorch']} exits 1 confirmed by PyTorch on the planned state dict; "
          f"{stats['positional entries left out']} optimizer or scheduler entries rightly left out")
    print(f"time: {ran - STARTED:.1f} s running taxon ({workers} at a time), {judged - ran:.1f} s checking, "
          f"{time.monotonic() - judged:.1f} s regression cases")
    if everything < 50:
        failures.append(f"only {everything} combinations")
        print(f"FAILED only {everything} combinations (at least 50)")
    if stride > 1:
        print(f"every {stride}th of the {everything} combinations ran (TAXON_PROPERTY_STRIDE)")
    elif stats["loaded into the target"] < 10:
        failures.append("too few loads")
        print(f"FAILED only {stats['loaded into the target']} written files loaded into their target (at least 10)")
    print(f"{passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
