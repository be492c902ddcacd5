#!/usr/bin/python3
"""Writes swin_t_expected.json and vit_b16_expected.json: the per-parameter lr scales and weight
decays that timm itself gives a Swin-T (depths 2, 2, 6, 2) for layer-wise decay 0.9 and a ViT-B/16
(12 blocks) for layer-wise decay 0.75.

    /usr/bin/python3 tests/data/layer_decay/make_expected.py TIMM_CHECKOUT [OUT_DIR]

TIMM_CHECKOUT is a checkout of huggingface/pytorch-image-models; its timm package is imported from
there with Debian's python3-torch (and python3-torchvision, python3-yaml); nothing of timm is
copied into taxon. OUT_DIR defaults to this script's folder. Each model is timm's own
(num_classes=2, random weights, nothing downloaded), and the groups are what timm's
create_optimizer_v2 asks for with layer_decay set: param_groups_layer_decay(model,
weight_decay=0.05, layer_decay=LAYER_DECAY, no_weight_decay_list=model.no_weight_decay())
(timm/optim/_param_groups.py). Layer ids come from the model's group_matcher through
group_with_matcher (timm/models/_manipulate.py): a name's key is (group ordinal, regex captures,
suffix); the sorted keys become layers 0, 1, ..., except that a key ending in MATCH_PREV_GROUP
(99999) joins the layer before it; a name no pattern matches is layer_max (the head);
lr_scale = layer_decay ** (layer_max - layer).

  - Swin-T, swin_tiny_patch4_window7_224 (SwinTransformer.group_matcher,
    timm/models/swin_transformer.py): patch_embed is layer 0; block b of stage s is layer
    1 + b + sum(depths[:s]); a stage's downsample (timm runs it at the start of the stage) shares
    its stage's block 0; the final norm shares the last block; the head is the last layer.
  - ViT-B/16, vit_base_patch16_224 (VisionTransformer.group_matcher,
    timm/models/vision_transformer.py): cls_token, pos_embed and patch_embed are layer 0; block N
    is layer N + 1; the final norm (r'^norm', (99999,)) shares the last block (layer 12, 0.75);
    the head (and fc_norm, in the models that pool with it) matches nothing and is layer 13 (1.0).

Each output has two lists:
  - "timm_parameters": every parameter of the timm model, its layer id, lr_scale and weight_decay, as timm
    computed them;
  - "hf" / "parameters": every parameter of the taxon dump in Hugging Face naming
    (tests/data/dumps/swin_t.json, tests/data/dumps/vit_b16.json), with the timm parameter it is
    (checked by shape: equal, or q/k/v a third of timm's fused qkv) and that parameter's lr_scale
    and weight_decay. Hugging Face keeps timm's pre-0.9 Swin layout, where a stage's downsample
    ends the stage: swin.encoder.layers.S.downsample is timm's layers.{S+1}.downsample, as timm's
    own checkpoint_filter_fn renames old weights.
tests/runtime/layer_decay_timm_test.cpp checks taxon's rules against the "hf" lists.
"""
import json
import os
import re
import subprocess
import sys

WEIGHT_DECAY = 0.05
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
GENERATOR = "tests/data/layer_decay/make_expected.py"

# Hugging Face Swin name -> timm name (timm/models/swin_transformer.py; transformers' SwinModel).
SWIN_HF_TO_TIMM = [
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

# Hugging Face ViT name (the taxon dump's naming) -> timm name (timm/models/vision_transformer.py).
VIT_HF_TO_TIMM = [
    (r"^vit\.embeddings\.cls_token$", "cls_token"),
    (r"^vit\.embeddings\.position_embeddings$", "pos_embed"),
    (r"^vit\.embeddings\.patch_embeddings\.projection\.", "patch_embed.proj."),
    (r"^vit\.layers\.(\d+)\.layernorm_before\.", r"blocks.\1.norm1."),
    (r"^vit\.layers\.(\d+)\.layernorm_after\.", r"blocks.\1.norm2."),
    (r"^vit\.layers\.(\d+)\.attention\.[qkv]_proj\.", r"blocks.\1.attn.qkv."),
    (r"^vit\.layers\.(\d+)\.attention\.o_proj\.", r"blocks.\1.attn.proj."),
    (r"^vit\.layers\.(\d+)\.mlp\.", r"blocks.\1.mlp."),
    (r"^vit\.layernorm\.", "norm."),
    (r"^classifier\.", "head."),
]


def timm_name(hf_name, table):
    for pattern, replacement in table:
        name, n = re.subn(pattern, replacement, hf_name)
        if n:
            return name
    raise SystemExit(f"no timm name for {hf_name}")


def expected(timm, commit, model_name, layer_decay, dump, hf_to_timm, files, describe):
    """Builds timm's model_name, asks timm for its groups and maps them onto `dump`'s names."""
    from timm.models import group_parameters
    from timm.optim import param_groups_layer_decay

    model = timm.create_model(model_name, pretrained=False, num_classes=2)

    # As create_optimizer_v2(model, ..., layer_decay=LAYER_DECAY) calls it (timm/optim/_optim_factory.py).
    groups = param_groups_layer_decay(model, weight_decay=WEIGHT_DECAY, layer_decay=layer_decay,
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

    with open(os.path.join(ROOT, dump)) as f:
        tensors = json.load(f)["tensors"]
    hf_rows = []
    for tensor in tensors:
        if tensor["kind"] != "parameter":
            continue
        hf, t = tensor["name"], timm_name(tensor["name"], hf_to_timm)
        assert t in params, (hf, t)
        shape, theirs = tensor["shape"], list(params[t].shape)
        fused = re.search(r"\.attention\.[qkv]_proj\.", hf) and theirs == [3 * shape[0]] + shape[1:]
        assert shape == theirs or fused, (hf, shape, t, theirs)
        hf_rows.append({"name": hf, "timm": t, "lr_scale": scale[t], "weight_decay": decay[t]})
    # Every timm parameter is some Hugging Face parameter (q, k and v share qkv).
    assert {row["timm"] for row in hf_rows} == set(params)

    return model, {"generator": GENERATOR,
                   "timm": {"commit": commit, "version": timm.__version__,
                            "model": model_name, "num_classes": 2, **describe(model),
                            "call": f"param_groups_layer_decay(model, weight_decay={WEIGHT_DECAY}, "
                                    f"layer_decay={layer_decay}, no_weight_decay_list=model.no_weight_decay())",
                            "files": ["timm/optim/_param_groups.py", files, "timm/models/_manipulate.py"]},
                   "timm_parameters": timm_rows, "hf": {"dump": dump, "parameters": hf_rows}}


def write(path, data):
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def main():
    checkout = os.path.abspath(sys.argv[1])
    out_dir = sys.argv[2] if len(sys.argv) > 2 else HERE
    sys.path.insert(0, checkout)
    import timm  # noqa: E402  (from the checkout)

    assert os.path.dirname(os.path.dirname(os.path.abspath(timm.__file__))) == checkout, timm.__file__
    commit = subprocess.run(["git", "-C", checkout, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    _, swin_data = expected(timm, commit, "swin_tiny_patch4_window7_224", 0.9, "tests/data/dumps/swin_t.json",
                            SWIN_HF_TO_TIMM, "timm/models/swin_transformer.py",
                            lambda model: {"depths": [len(stage.blocks) for stage in model.layers]})
    assert swin_data["timm"]["depths"] == [2, 2, 6, 2], swin_data["timm"]["depths"]
    write(os.path.join(out_dir, "swin_t_expected.json"), swin_data)

    vit, vit_data = expected(timm, commit, "vit_base_patch16_224", 0.75, "tests/data/dumps/vit_b16.json",
                             VIT_HF_TO_TIMM, "timm/models/vision_transformer.py",
                             lambda model: {"depth": len(model.blocks), "global_pool": model.global_pool})
    assert vit_data["timm"]["depth"] == 12, vit_data["timm"]["depth"]
    # The final norm is LayerNorm (fc_norm is Identity with class-token pooling).
    names = [n for n, _ in vit.named_parameters()]
    assert "norm.weight" in names and not any(n.startswith("fc_norm.") for n in names), names
    write(os.path.join(out_dir, "vit_b16_expected.json"), vit_data)


if __name__ == "__main__":
    main()
