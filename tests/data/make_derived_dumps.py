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


def transformers4(name):
    for pattern, replacement in TRANSFORMERS4:
        name, count = re.subn(pattern, replacement, name)
        if count:
            return name
    return name


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
