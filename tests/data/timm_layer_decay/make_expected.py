#!/usr/bin/python3
"""Writes expected.json and one model dump per model: the per-parameter layer id, lr scale and
weight decay that timm itself gives several model families (ViT, DeiT distilled, ViT with register
tokens, CLIP-style ViT with a pre-norm, EVA-02, Swin, Swin V2, ConvNeXt) for layer-wise learning
rate decay 0.75 and 0.65, and the plain weight decay groups, so that a C++ test can check taxon's
rules parameter by parameter.

    TIMM_GIT_DIR=/path/to/a/clone/of/pytorch-image-models \\
        /usr/bin/python3 tests/data/timm_layer_decay/make_expected.py TIMM_CHECKOUT [OUT_DIR]

TIMM_CHECKOUT is a checkout of huggingface/pytorch-image-models (for instance
`git --git-dir=MIRROR archive HEAD | tar -x -C /tmp/timm_src`); its commit is read with
`git -C TIMM_CHECKOUT rev-parse HEAD`, or, when the checkout has no .git, from the git dir named
by the TIMM_GIT_DIR environment variable. Its timm package is imported from there with Debian's
python3-torch (timm needs neither huggingface_hub nor safetensors to build a model without
weights). OUT_DIR defaults to this script's folder; the dumps are written with
tools/dump_model.py's model_dump() (model-dump/1, docs/model-dump.md).

Each model is timm's own, timm.create_model(NAME, pretrained=False, num_classes=10, **KWARGS):
random weights, nothing downloaded; KWARGS shrink some models (depth, embed_dim, depths) and are
recorded in the output. The group_matcher is always the model class's own. For each model:

  - layer_decay[DECAY]: timm.optim._param_groups.param_groups_layer_decay(model,
    weight_decay=0.05, no_weight_decay_list=NWD, layer_decay=DECAY), where NWD is
    model.no_weight_decay() or, for a model without that method (ConvNeXt), the empty set, as
    timm's create_optimizer_v2 does (getattr(model, 'no_weight_decay', lambda: set())()).
    Every parameter's lr_scale and weight_decay is that of the group timm put it in, and its layer
    is the N of the group's name layer_N_decay / layer_N_no_decay (timm logs the names when
    called with verbose=True); the layer is checked against group_parameters(model,
    model.group_matcher(coarse=False), reverse=True) and lr_scale against
    DECAY ** (layer_max - layer).
  - weight_decay: timm.optim._param_groups.param_groups_weight_decay(model, weight_decay=0.05,
    no_weight_decay_list=NWD): every parameter's weight_decay.

Parameters are listed in model.named_parameters() order, which the script checks equals the
order of the dump's parameters (kind "parameter"). The script exits with status 1 after writing
if a check fails.
"""
import io
import json
import logging
import math
import os
import subprocess
import sys

WEIGHT_DECAY = 0.05
DECAYS = (0.75, 0.65)
NUM_CLASSES = 10
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
GENERATOR = "tests/data/timm_layer_decay/make_expected.py"
DUMP_DIR = "tests/data/timm_layer_decay"

# (timm model name, constructor kwargs besides pretrained=False and num_classes).
# Depths differ from the defaults where noted, so that a rule file cannot hard-code them.
MODELS = [
    ("vit_tiny_patch16_224", {}),                                   # default depth 12
    ("deit_tiny_distilled_patch16_224", {"depth": 6}),              # default 12
    ("vit_small_patch14_reg4_dinov2",                               # cls + 4 reg tokens, layer scale
     {"depth": 4, "embed_dim": 64, "num_heads": 2, "img_size": 224}),
    ("vit_little_patch16_reg4_gap_256",                             # no cls token, 4 reg, avg pool + fc_norm
     {"depth": 5, "embed_dim": 64, "num_heads": 2}),
    ("vit_base_patch16_clip_224",                                   # pre_norm=True: norm_pre
     {"depth": 3, "embed_dim": 64, "num_heads": 2}),
    ("eva02_tiny_patch14_224", {"depth": 8}),                       # default 12
    ("swin_tiny_patch4_window7_224", {"depths": [1, 2, 3, 1]}),     # default (2, 2, 6, 2)
    ("swinv2_tiny_window8_256", {"depths": [2, 1, 3, 1]}),          # default (2, 2, 6, 2)
    ("convnext_atto", {"depths": [1, 1, 3, 2]}),                    # default (2, 2, 6, 2)
]


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from timm_support import timm_commit  # noqa: E402


def layer_decay_rows(model, no_weight_decay, layer_decay, names):
    """Per parameter: (layer, lr_scale, weight_decay) from timm's param_groups_layer_decay, the
    layer read from the group names timm logs with verbose=True."""
    from timm.optim import _param_groups

    log = io.StringIO()
    handler = logging.StreamHandler(log)
    logger = _param_groups._logger
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        groups = _param_groups.param_groups_layer_decay(
            model, weight_decay=WEIGHT_DECAY, no_weight_decay_list=no_weight_decay,
            layer_decay=layer_decay, verbose=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
    text = log.getvalue()
    named_groups = json.loads(text[text.index("{"):])

    name_of = {id(p): n for n, p in model.named_parameters()}
    by_name = {}
    for group in groups:
        for p in group["params"]:
            name = name_of[id(p)]
            assert name not in by_name, name
            by_name[name] = (group["lr_scale"], group["weight_decay"])
    layer_of = {}
    for group_name, entry in named_groups.items():
        prefix, number, _ = group_name.split("_", 2)       # layer_N_decay / layer_N_no_decay
        assert prefix == "layer", group_name
        for name in entry["param_names"]:
            assert name not in layer_of, name
            layer_of[name] = int(number)
            assert by_name[name] == (entry["lr_scale"], entry["weight_decay"]), name
    assert set(by_name) == set(names) == set(layer_of), set(names) ^ set(by_name)
    return [{"name": n, "lr_scale": by_name[n][0], "weight_decay": by_name[n][1], "layer": layer_of[n]}
            for n in names]


def weight_decay_rows(model, no_weight_decay, names):
    from timm.optim._param_groups import param_groups_weight_decay

    groups = param_groups_weight_decay(model, weight_decay=WEIGHT_DECAY,
                                       no_weight_decay_list=no_weight_decay)
    name_of = {id(p): n for n, p in model.named_parameters()}
    by_name = {}
    for group in groups:
        for p in group["params"]:
            name = name_of[id(p)]
            assert name not in by_name, name
            by_name[name] = group["weight_decay"]
    assert set(by_name) == set(names), set(names) ^ set(by_name)
    return [{"name": n, "weight_decay": by_name[n]} for n in names]


def jsonable(value):
    """group_matcher's dict (regex strings, tuples) as JSON."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def rows_json(rows, indent):
    return "[\n" + ",\n".join(indent + json.dumps(r, separators=(",", ":")) for r in rows) + "\n" + indent[:-1] + "]"


def write_expected(path, data):
    """expected.json with one line per parameter row."""
    out = ["{", f' "timm": {json.dumps(data["timm"])},', ' "models": [']
    entries = []
    for m in data["models"]:
        lines = ["  {"]
        for key, value in m.items():
            if key == "layer_decay":
                inner = ",\n".join(f'    {json.dumps(d)}: {rows_json(rows, "     ")}' for d, rows in value.items())
                lines.append(f'   "layer_decay": {{\n{inner}\n   }},')
            elif key == "weight_decay":
                lines.append(f'   "weight_decay": {rows_json(value, "    ")},')
            else:
                lines.append(f'   {json.dumps(key)}: {json.dumps(value)},')
        lines[-1] = lines[-1].rstrip(",")
        lines.append("  }")
        entries.append("\n".join(lines))
    out.append(",\n".join(entries))
    out.append(" ]")
    out.append("}")
    text = "\n".join(out) + "\n"
    json.loads(text)
    with open(path, "w") as f:
        f.write(text)


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    checkout = os.path.abspath(sys.argv[1])
    out_dir = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else HERE
    sys.path.insert(0, checkout)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import torch  # noqa: E402
    import timm  # noqa: E402  (from the checkout)
    from timm.models import group_parameters  # noqa: E402
    from dump_model import model_dump, _to_json  # noqa: E402  (tools/dump_model.py)

    assert os.path.dirname(os.path.dirname(os.path.abspath(timm.__file__))) == checkout, timm.__file__
    commit = timm_commit(checkout)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    os.makedirs(out_dir, exist_ok=True)

    failures = []
    models = []
    for model_name, kwargs in MODELS:
        if model_name not in timm.list_models(model_name):
            raise SystemExit(f"{model_name} is not a model of timm {timm.__version__} ({commit})")
        model = timm.create_model(model_name, pretrained=False, num_classes=NUM_CLASSES, **kwargs)
        model.eval()
        names = [n for n, _ in model.named_parameters()]
        has_nwd = hasattr(model, "no_weight_decay")
        no_weight_decay = getattr(model, "no_weight_decay", lambda: set())()

        dump = model_dump(model, name=model_name)
        dump_text = _to_json(dump)
        dump_path = os.path.join(out_dir, f"{model_name}.json")
        with open(dump_path, "w") as f:
            f.write(dump_text)
        dumped = [t["name"] for t in dump["tensors"] if t.get("kind", "parameter") == "parameter"]
        if dumped != names:
            failures.append(f"{model_name}: dump parameters differ from named_parameters()")

        matcher = model.group_matcher(coarse=False)
        layer_map = group_parameters(model, matcher, reverse=True)
        # group_with_matcher gives every name a layer (an unmatched one sorts last, as float('inf')),
        # and param_groups_layer_decay's layer_max is the largest.
        assert set(layer_map) == set(names), set(layer_map) ^ set(names)
        layer_max = max(layer_map.values())

        decays = {}
        for layer_decay in DECAYS:
            rows = layer_decay_rows(model, no_weight_decay, layer_decay, names)
            for r in rows:
                if r["layer"] != layer_map[r["name"]]:
                    failures.append(f"{model_name} {r['name']}: group layer {r['layer']} != "
                                    f"group_parameters {layer_map[r['name']]}")
                want = layer_decay ** (layer_max - r["layer"])
                if not math.isclose(r["lr_scale"], want, rel_tol=1e-12):
                    failures.append(f"{model_name} {r['name']}: lr_scale {r['lr_scale']} != {want}")
            decays[str(layer_decay)] = rows

        entry = {
            "model": model_name,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "kwargs": dict(kwargs, num_classes=NUM_CLASSES),
            "dump": f"{DUMP_DIR}/{model_name}.json",
            "num_params": sum(p.numel() for p in model.parameters()),
            "num_parameter_tensors": len(names),
            "num_layers": layer_max + 1,
            "group_matcher": jsonable(matcher),
            "no_weight_decay": sorted(no_weight_decay) if has_nwd else None,
            "layer_decay": decays,
            "weight_decay": weight_decay_rows(model, no_weight_decay, names),
        }
        models.append(entry)
        print(f"{model_name} {kwargs}: {entry['num_params']} params, {len(names)} tensors, "
              f"{entry['num_layers']} layers, dump {len(dump_text)} bytes; "
              f"no_weight_decay {entry['no_weight_decay'] if has_nwd else '(no method)'}"[:400])
        del model

    data = {"timm": {"commit": commit, "version": timm.__version__, "generator": GENERATOR,
                     "torch": torch.__version__, "weight_decay": WEIGHT_DECAY,
                     "layer_decay_call": "timm.optim._param_groups.param_groups_layer_decay(model, "
                                         f"weight_decay={WEIGHT_DECAY}, no_weight_decay_list=NWD, "
                                         "layer_decay=DECAY)",
                     "weight_decay_call": "timm.optim._param_groups.param_groups_weight_decay(model, "
                                          f"weight_decay={WEIGHT_DECAY}, no_weight_decay_list=NWD)",
                     "no_weight_decay": "NWD = getattr(model, 'no_weight_decay', lambda: set())()",
                     "create_model": "timm.create_model(MODEL, pretrained=False, **KWARGS)"},
            "models": models}
    path = os.path.join(out_dir, "expected.json")
    write_expected(path, data)
    print(f"{path}: timm {timm.__version__} {commit}, {len(models)} models, "
          f"{os.path.getsize(path)} bytes")
    for failure in failures:
        print("FAIL", failure)
    if failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
