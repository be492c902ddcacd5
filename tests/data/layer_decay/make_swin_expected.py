#!/usr/bin/python3
"""Writes swin_t_expected.json: the per-parameter lr scales and weight decays that timm itself
gives a Swin-T (depths 2, 2, 6, 2) for layer-wise decay 0.9.

    /usr/bin/python3 tests/data/layer_decay/make_swin_expected.py TIMM_CHECKOUT [OUT]

TIMM_CHECKOUT is a checkout of huggingface/pytorch-image-models; its timm package is imported from
there with Debian's python3-torch (and python3-torchvision, python3-yaml); nothing of timm is
copied into taxon. The model is timm's own swin_tiny_patch4_window7_224 (num_classes=2, random
weights, nothing downloaded), and the groups are what timm's create_optimizer_v2 asks for with
layer_decay set: param_groups_layer_decay(model, weight_decay=0.05, layer_decay=0.9,
no_weight_decay_list=model.no_weight_decay()) (timm/optim/_param_groups.py). Its layer ids come
from SwinTransformer.group_matcher (timm/models/swin_transformer.py) through group_with_matcher
(timm/models/_manipulate.py): patch_embed is layer 0; block b of stage s is layer
1 + b + sum(depths[:s]); a stage's downsample (timm runs it at the start of the stage) shares its
stage's block 0; the final norm shares the last block; the head is the last layer.

The output has two lists:
  - "timm_parameters": every parameter of the timm model, its layer id, lr_scale and weight_decay, as timm
    computed them;
  - "hf" / "parameters": every parameter of tests/data/dumps/swin_t.json (Hugging Face naming), with the timm
    parameter it is (checked by shape: equal, or q/k/v a third of timm's fused qkv) and that
    parameter's lr_scale and weight_decay. Hugging Face keeps timm's pre-0.9 layout, where a
    stage's downsample ends the stage: swin.encoder.layers.S.downsample is timm's
    layers.{S+1}.downsample, as timm's own checkpoint_filter_fn renames old weights.
tests/runtime/layer_decay_timm_test.cpp checks taxon's Swin rules against the "hf" list.
"""
import json
import os
import re
import subprocess
import sys

LAYER_DECAY = 0.9
WEIGHT_DECAY = 0.05
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

# Hugging Face Swin name -> timm name (timm/models/swin_transformer.py; transformers' SwinModel).
HF_TO_TIMM = [
    (r"^swin\.embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^swin\.embeddings\.norm\.", "patch_embed.norm."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.layernorm_before\.", r"layers.\1.blocks.\2.norm1."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.layernorm_after\.", r"layers.\1.blocks.\2.norm2."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.attention\.[qkv]_proj\.", r"layers.\1.blocks.\2.attn.qkv."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.attention\.o_proj\.", r"layers.\1.blocks.\2.attn.proj."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.attention\.relative_position_bias\.",
     r"layers.\1.blocks.\2.attn."),
    (r"^swin\.encoder\.layers\.(\d+)\.blocks\.(\d+)\.mlp\.", r"layers.\1.blocks.\2.mlp."),
    (r"^swin\.encoder\.layers\.(\d+)\.downsample\.", lambda m: f"layers.{int(m.group(1)) + 1}.downsample."),
    (r"^swin\.layernorm\.", "norm."),
    (r"^classifier\.", "head.fc."),
]


def timm_name(hf_name):
    for pattern, replacement in HF_TO_TIMM:
        name, n = re.subn(pattern, replacement, hf_name)
        if n:
            return name
    raise SystemExit(f"no timm name for {hf_name}")


def main():
    checkout = os.path.abspath(sys.argv[1])
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "swin_t_expected.json")
    sys.path.insert(0, checkout)
    import timm  # noqa: E402  (from the checkout)
    from timm.models import group_parameters  # noqa: E402
    from timm.optim import param_groups_layer_decay  # noqa: E402

    assert os.path.dirname(os.path.dirname(os.path.abspath(timm.__file__))) == checkout, timm.__file__
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, num_classes=2)
    depths = [len(stage.blocks) for stage in model.layers]
    assert depths == [2, 2, 6, 2], depths

    # As create_optimizer_v2(model, ..., layer_decay=0.9) calls it (timm/optim/_optim_factory.py).
    groups = param_groups_layer_decay(model, weight_decay=WEIGHT_DECAY, layer_decay=LAYER_DECAY,
                                      no_weight_decay_list=model.no_weight_decay())
    layer_of = group_parameters(model, model.group_matcher(coarse=False), reverse=True)
    name_of = {id(p): n for n, p in model.named_parameters()}
    params = dict(model.named_parameters())
    scale, decay = {}, {}
    for group in groups:
        for p in group["params"]:
            scale[name_of[id(p)]] = group["lr_scale"]
            decay[name_of[id(p)]] = group["weight_decay"]
    assert set(scale) == set(params)
    timm_rows = [{"name": n, "shape": list(p.shape), "layer": layer_of[n], "lr_scale": scale[n],
                  "weight_decay": decay[n]} for n, p in model.named_parameters()]

    with open(os.path.join(ROOT, "tests", "data", "dumps", "swin_t.json")) as f:
        dump = json.load(f)
    hf_rows = []
    for tensor in dump["tensors"]:
        if tensor["kind"] != "parameter":
            continue
        hf, t = tensor["name"], timm_name(tensor["name"])
        assert t in params, (hf, t)
        shape, theirs = tensor["shape"], list(params[t].shape)
        fused = re.search(r"\.attention\.[qkv]_proj\.", hf) and theirs == [3 * shape[0]] + shape[1:]
        assert shape == theirs or fused, (hf, shape, t, theirs)
        hf_rows.append({"name": hf, "timm": t, "lr_scale": scale[t], "weight_decay": decay[t]})
    # Every timm parameter is some Hugging Face parameter (q, k and v share qkv).
    assert {row["timm"] for row in hf_rows} == set(params)

    with open(out, "w") as f:
        json.dump({"generator": "tests/data/layer_decay/make_swin_expected.py",
                   "timm": {"commit": commit, "version": timm.__version__,
                            "model": "swin_tiny_patch4_window7_224", "num_classes": 2, "depths": depths,
                            "call": f"param_groups_layer_decay(model, weight_decay={WEIGHT_DECAY}, "
                                    f"layer_decay={LAYER_DECAY}, no_weight_decay_list=model.no_weight_decay())",
                            "files": ["timm/optim/_param_groups.py", "timm/models/swin_transformer.py",
                                      "timm/models/_manipulate.py"]},
                   "timm_parameters": timm_rows, "hf": {"dump": "tests/data/dumps/swin_t.json", "parameters": hf_rows}},
                  f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
