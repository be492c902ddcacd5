#!/usr/bin/python3
"""Writes beit_b16_expected.json: the per-parameter lr scale and weight decay that timm itself gives
a BEiT-B/16 (beit_base_patch16_224, 12 blocks) for layer-wise decay 0.65 and 0.75.

    /usr/bin/python3 tests/data/layer_decay/make_beit_expected.py TIMM_CHECKOUT [OUT_DIR]

TIMM_CHECKOUT is a checkout of huggingface/pytorch-image-models (for instance
`git --git-dir=MIRROR archive HEAD | tar -x -C /tmp/timm_src`, which the commit is then read from
with `git --git-dir=MIRROR rev-parse HEAD` if the checkout has no .git: pass MIRROR as the
TIMM_GIT_DIR environment variable); its timm package is imported from there with Debian's
python3-torch (and python3-torchvision, python3-yaml). timm needs neither huggingface_hub nor
safetensors to import or to build a model without weights (timm/models/_hub.py imports both
optionally), so nothing is stubbed. OUT_DIR defaults to this script's folder.

The model is timm's own, timm.create_model("beit_base_patch16_224", pretrained=False,
num_classes=2): random weights, nothing downloaded. For each decay the groups are what timm's
create_optimizer_v2 asks for with layer_decay set (timm/optim/_optim_factory.py):

    timm.optim._param_groups.param_groups_layer_decay(model, weight_decay=0.05,
        no_weight_decay_list=model.no_weight_decay(), layer_decay=DECAY)

Layer ids come from Beit.group_matcher(coarse=False) (timm/models/beit.py) through
group_with_matcher (timm/models/_manipulate.py): cls_token, pos_embed, patch_embed (and a shared
rel_pos_bias, absent here) are layer 0; block N is layer N + 1; r'^norm' joins the last block
(99999, MATCH_PREV_GROUP), though beit_base_patch16_224 pools with fc_norm and its norm is an
Identity; fc_norm and head match nothing and are layer_max = 13 (lr_scale 1.0). lr_scale is
layer_decay ** (layer_max - layer); weight_decay is 0 for parameters of one dimension or fewer and
for the names model.no_weight_decay() lists (pos_embed, cls_token, every
relative_position_bias_table), else 0.05.

The output holds, for each decay, every parameter of the timm model in model.named_parameters()
order with the lr_scale and weight_decay of the group timm put it in. The names are then checked
against the parameters (kind "parameter") of tests/data/dumps/beit_b16.json, in order; a
difference is printed and makes the script exit with status 1 (after writing the output).
"""
import json
import os
import subprocess
import sys

MODEL = "beit_base_patch16_224"
WEIGHT_DECAY = 0.05
DECAYS = (0.65, 0.75)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
GENERATOR = "tests/data/layer_decay/make_beit_expected.py"
DUMP = "tests/data/dumps/beit_b16.json"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from timm_support import timm_commit  # noqa: E402


def groups_by_name(model, layer_decay):
    """{parameter name: (lr_scale, weight_decay)} from timm's param_groups_layer_decay."""
    from timm.optim._param_groups import param_groups_layer_decay

    groups = param_groups_layer_decay(model, weight_decay=WEIGHT_DECAY,
                                      no_weight_decay_list=model.no_weight_decay(),
                                      layer_decay=layer_decay)
    name_of = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in groups:
        for p in group["params"]:
            name = name_of[id(p)]
            assert name not in out, name
            out[name] = (group["lr_scale"], group["weight_decay"])
    return out


def main():
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    checkout = os.path.abspath(sys.argv[1])
    out_dir = sys.argv[2] if len(sys.argv) > 2 else HERE
    sys.path.insert(0, checkout)
    import timm  # noqa: E402  (from the checkout)

    assert os.path.dirname(os.path.dirname(os.path.abspath(timm.__file__))) == checkout, timm.__file__
    commit = timm_commit(checkout)

    model = timm.create_model(MODEL, pretrained=False, num_classes=2)
    names = [n for n, _ in model.named_parameters()]
    assert len(model.blocks) == 12, len(model.blocks)

    decays = {}
    for layer_decay in DECAYS:
        by_name = groups_by_name(model, layer_decay)
        assert set(by_name) == set(names), set(names) ^ set(by_name)
        decays[str(layer_decay)] = {"parameters": [
            {"name": n, "lr_scale": by_name[n][0], "weight_decay": by_name[n][1]} for n in names]}

    data = {"timm": {"commit": commit, "version": timm.__version__, "model": MODEL, "num_classes": 2,
                     "function": "param_groups_layer_decay",
                     "call": "timm.optim._param_groups.param_groups_layer_decay(model, "
                             f"weight_decay={WEIGHT_DECAY}, no_weight_decay_list=model.no_weight_decay(), "
                             "layer_decay=DECAY)",
                     "generator": GENERATOR},
            "decays": decays}
    path = os.path.join(out_dir, "beit_b16_expected.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")

    print(f"{path}: timm {timm.__version__} {commit}, {MODEL}, {len(names)} parameters")
    for key, entry in decays.items():
        scales = sorted({row["lr_scale"] for row in entry["parameters"]})
        no_wd = sum(1 for row in entry["parameters"] if row["weight_decay"] == 0)
        print(f"  layer_decay {key}: {len(scales)} distinct lr_scales "
              f"[{', '.join(f'{s:.6g}' for s in scales)}]; {no_wd} without weight decay")

    with open(os.path.join(ROOT, DUMP)) as f:
        dumped = [t["name"] for t in json.load(f)["tensors"] if t["kind"] == "parameter"]
    if dumped == names:
        print(f"  names equal {DUMP}'s {len(dumped)} parameters, in order")
        return
    print(f"  names differ from {DUMP}: timm {len(names)}, dump {len(dumped)}")
    for n in names:
        if n not in dumped:
            print(f"    only in timm: {n}")
    for n in dumped:
        if n not in names:
            print(f"    only in the dump: {n}")
    if set(names) == set(dumped):
        first = next(i for i, (a, b) in enumerate(zip(names, dumped)) if a != b)
        print(f"    same names, order differs first at {first}: timm {names[first]}, dump {dumped[first]}")
    sys.exit(1)


if __name__ == "__main__":
    main()
