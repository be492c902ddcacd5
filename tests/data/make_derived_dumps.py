"""Writes the derived model dumps in dumps/derived/ from the model dumps in dumps/.

Each one changes a single thing about a real dump, so a test can exercise one
behaviour on real names and shapes. Run from this folder with any Python 3:
    python3 make_derived_dumps.py
"""
import copy
import json
import pathlib

HERE = pathlib.Path(__file__).parent
SRC = HERE / "dumps"
OUT = SRC / "derived"


def load(name):
    return json.loads((SRC / f"{name}.json").read_text())


def save(name, dump):
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(dump, indent=1) + "\n")


vit = load("vit_tiny")

# What `taxon dump CKPT` gives for a checkpoint: no module paths or types.
checkpoint = copy.deepcopy(vit)
checkpoint["model"] = "checkpoint vit_tiny/model.safetensors"
del checkpoint["modules"]
for t in checkpoint["tensors"]:
    for key in ("module", "module_type"):
        t.pop(key, None)
save("vit_tiny_checkpoint", checkpoint)

# A model wrapped in DistributedDataParallel: every name gains "module.".
ddp = copy.deepcopy(vit)
ddp["model"] = "DistributedDataParallel(ViTForImageClassification)"
ddp["modules"] = [{"name": "", "type": "DistributedDataParallel"}] + [
    {"name": "module" + ("." + m["name"] if m["name"] else ""), "type": m["type"]} for m in vit["modules"]
]
for t in ddp["tensors"]:
    t["name"] = "module." + t["name"]
    t["module"] = "module" + ("." + t["module"] if t["module"] else "")
save("vit_tiny_ddp", ddp)

# Embeddings and the first block frozen (requires_grad = false).
frozen = copy.deepcopy(vit)
for t in frozen["tensors"]:
    if t["name"].startswith(("vit.embeddings.", "vit.layers.0.")):
        t["requires_grad"] = False
save("vit_tiny_frozen", frozen)

# A linnaeus stage map carried by the dump; "vit.layers.1." is listed under two
# stages so that the last one listed must win.
staged = copy.deepcopy(vit)
staged["parameter_groups_metadata"] = {
    "stages": {
        "0": ["vit.embeddings."],
        "1": ["vit.layers.0.", "vit.layers.1."],
        "2": ["vit.layers.1.", "vit.layernorm."],
        "head": ["classifier."],
    }
}
save("vit_tiny_stages", staged)

# ViT-B/16 as Hugging Face transformers 4 names it (ViTModel before the v5 refactor, whose names
# dumps/vit_b16.json has): vit.encoder.layer.N, attention.attention.query/key/value,
# attention.output.dense, intermediate.dense, output.dense. Shapes and order unchanged.
import re

TRANSFORMERS4 = [
    (r"^vit\.layers\.(\d+)\.attention\.q_proj(?=\.|$)", r"vit.encoder.layer.\1.attention.attention.query"),
    (r"^vit\.layers\.(\d+)\.attention\.k_proj(?=\.|$)", r"vit.encoder.layer.\1.attention.attention.key"),
    (r"^vit\.layers\.(\d+)\.attention\.v_proj(?=\.|$)", r"vit.encoder.layer.\1.attention.attention.value"),
    (r"^vit\.layers\.(\d+)\.attention\.o_proj(?=\.|$)", r"vit.encoder.layer.\1.attention.output.dense"),
    (r"^vit\.layers\.(\d+)\.mlp\.fc1(?=\.|$)", r"vit.encoder.layer.\1.intermediate.dense"),
    (r"^vit\.layers\.(\d+)\.mlp\.fc2(?=\.|$)", r"vit.encoder.layer.\1.output.dense"),
    (r"^vit\.layers(?=\.|$)", r"vit.encoder.layer"),
]


def renamer(rules):
    """name -> the name after the first of `rules` (pattern, replacement) that matches it."""
    def rename(name):
        for pattern, replacement in rules:
            name, count = re.subn(pattern, replacement, name)
            if count:
                return name
        return name
    return rename


transformers4 = renamer(TRANSFORMERS4)


v5 = load("vit_b16")
v4 = copy.deepcopy(v5)
v4["model"] = "ViTForImageClassification (transformers 4 names)"
for m in v4["modules"]:
    m["name"] = transformers4(m["name"])
for t in v4["tensors"]:
    t["name"] = transformers4(t["name"])
    if "module" in t:
        t["module"] = transformers4(t["module"])
save("vit_b16_transformers4", v4)

# Swin-T as Hugging Face transformers 4 names it (modeling_swin.py before the v5 refactor, whose
# names dumps/swin_t.json has): SwinAttention holds `self` (SwinSelfAttention: query, key, value
# and the relative_position_bias_table / relative_position_index directly) and `output.dense`;
# SwinLayer holds intermediate.dense and output.dense. Stages, blocks, downsample, the
# embeddings and the final norm keep their names; shapes and order unchanged.
SWIN_TRANSFORMERS4 = [
    (r"\.attention\.q_proj(?=\.|$)", r".attention.self.query"),
    (r"\.attention\.k_proj(?=\.|$)", r".attention.self.key"),
    (r"\.attention\.v_proj(?=\.|$)", r".attention.self.value"),
    (r"\.attention\.o_proj(?=\.|$)", r".attention.output.dense"),
    (r"\.attention\.relative_position_bias(?=\.|$)", r".attention.self"),
    (r"\.mlp\.fc1(?=\.|$)", r".intermediate.dense"),
    (r"\.mlp\.fc2(?=\.|$)", r".output.dense"),
    (r"\.mlp\.activation_fn$", r".intermediate.intermediate_act_fn"),
    (r"\.mlp$", r".intermediate"),
]
SWIN_TYPES4 = {"SwinRelativePositionBias": "SwinSelfAttention", "SwinMLP": "SwinIntermediate"}


swin_transformers4 = renamer(SWIN_TRANSFORMERS4)


s5 = load("swin_t")
s4 = copy.deepcopy(s5)
s4["model"] = "SwinForImageClassification (transformers 4 names)"
modules, seen = [], set()
for m in s4["modules"]:
    m["name"] = swin_transformers4(m["name"])
    m["type"] = SWIN_TYPES4.get(m["type"], m["type"])
    if m["name"] in seen:  # the attention and its bias module both become attention.self
        continue
    # transformers 4's containers: attention.output (SwinSelfOutput) and output (SwinOutput)
    # hold the dense layers.
    for suffix, container in ((".attention.output.dense", "SwinSelfOutput"), (".output.dense", "SwinOutput")):
        if m["name"].endswith(suffix) and m["name"][: -len(".dense")] not in seen:
            seen.add(m["name"][: -len(".dense")])
            modules.append({"name": m["name"][: -len(".dense")], "type": container})
            break
    if m["name"].endswith(".attention.self.query") and m["name"][: -len(".query")] not in seen:
        seen.add(m["name"][: -len(".query")])
        modules.append({"name": m["name"][: -len(".query")], "type": "SwinSelfAttention"})
    seen.add(m["name"])
    modules.append(m)
s4["modules"] = modules
for t in s4["tensors"]:
    t["name"] = swin_transformers4(t["name"])
    if "module" in t:
        t["module"] = swin_transformers4(t["module"])
        t["module_type"] = SWIN_TYPES4.get(t["module_type"], t["module_type"])
save("swin_t_transformers4", s4)
