"""Writes a model-dump/1 with the on-disk tensor layout of DeepSeek-V3 (671B): 61 decoder layers
(the first 3 dense, then MoE with 256 routed experts and 1 shared expert), the multi-token-
prediction layer 61, fp8 (e4m3) linear weights with their 128x128-block `weight_scale_inv`
tensors. Names, shapes and dtypes follow the released checkpoint's index; module types are
those of the Hugging Face implementation. No torch needed.

    python3 bench/make_deepseek_v3_dump.py bench/deepseek_v3.json
"""
import json
import math
import sys

HIDDEN, VOCAB, LAYERS, DENSE = 7168, 129280, 61, 3
INTER, MOE_INTER, EXPERTS, HEADS = 18432, 2048, 256, 128
Q_LORA, KV_LORA, ROPE, NOPE, V = 1536, 512, 64, 128, 128

tensors, modules = [], {"": "DeepseekV3ForCausalLM"}


def module(path, kind):
    modules.setdefault(path, kind)


def add(name, shape, dtype, kind):
    path = name.rpartition(".")[0]
    module(path, kind)
    tensors.append({"name": name, "shape": shape, "dtype": dtype, "module": path, "module_type": kind})


def linear(path, out, inp):
    add(f"{path}.weight", [out, inp], "float8_e4m3fn", "Linear")
    add(f"{path}.weight_scale_inv", [math.ceil(out / 128), math.ceil(inp / 128)], "float32", "Linear")


def norm(path, size):
    add(f"{path}.weight", [size], "bfloat16", "DeepseekV3RMSNorm")


def mlp(path, inter):
    module(path, "DeepseekV3MLP")
    linear(f"{path}.gate_proj", inter, HIDDEN)
    linear(f"{path}.up_proj", inter, HIDDEN)
    linear(f"{path}.down_proj", HIDDEN, inter)


def layer(i):
    p = f"model.layers.{i}"
    module(p, "DeepseekV3DecoderLayer")
    module(f"{p}.self_attn", "DeepseekV3Attention")
    linear(f"{p}.self_attn.q_a_proj", Q_LORA, HIDDEN)
    norm(f"{p}.self_attn.q_a_layernorm", Q_LORA)
    linear(f"{p}.self_attn.q_b_proj", HEADS * (NOPE + ROPE), Q_LORA)
    linear(f"{p}.self_attn.kv_a_proj_with_mqa", KV_LORA + ROPE, HIDDEN)
    norm(f"{p}.self_attn.kv_a_layernorm", KV_LORA)
    linear(f"{p}.self_attn.kv_b_proj", HEADS * (NOPE + V), KV_LORA)
    linear(f"{p}.self_attn.o_proj", HIDDEN, HEADS * V)
    if i < DENSE:
        mlp(f"{p}.mlp", INTER)
    else:
        module(f"{p}.mlp", "DeepseekV3MoE")
        add(f"{p}.mlp.gate.weight", [EXPERTS, HIDDEN], "bfloat16", "MoEGate")
        add(f"{p}.mlp.gate.e_score_correction_bias", [EXPERTS], "float32", "MoEGate")
        for e in range(EXPERTS):
            mlp(f"{p}.mlp.experts.{e}", MOE_INTER)
        mlp(f"{p}.mlp.shared_experts", MOE_INTER)
    norm(f"{p}.input_layernorm", HIDDEN)
    norm(f"{p}.post_attention_layernorm", HIDDEN)


add("model.embed_tokens.weight", [VOCAB, HIDDEN], "bfloat16", "Embedding")
for i in range(LAYERS):
    layer(i)
# Multi-token prediction: layer 61 is a full MoE layer plus its own embedding, norms,
# projection and head.
layer(LAYERS)
mtp = f"model.layers.{LAYERS}"
add(f"{mtp}.embed_tokens.weight", [VOCAB, HIDDEN], "bfloat16", "Embedding")
norm(f"{mtp}.enorm", HIDDEN)
norm(f"{mtp}.hnorm", HIDDEN)
add(f"{mtp}.eh_proj.weight", [HIDDEN, 2 * HIDDEN], "bfloat16", "Linear")
norm(f"{mtp}.shared_head.norm", HIDDEN)
add(f"{mtp}.shared_head.head.weight", [VOCAB, HIDDEN], "bfloat16", "Linear")
norm("model.norm", HIDDEN)
add("lm_head.weight", [VOCAB, HIDDEN], "bfloat16", "Linear")

dump = {"format": "model-dump/1", "model": "DeepSeek-V3 (on-disk layout)",
        "modules": [{"name": k, "type": v} for k, v in modules.items()], "tensors": tensors}
with open(sys.argv[1] if len(sys.argv) > 1 else "deepseek_v3.json", "w") as out:
    out.write('{"format": "model-dump/1", "model": ' + json.dumps(dump["model"]) + ',\n "modules": [\n')
    out.write(",\n".join("  " + json.dumps(m, separators=(",", ":")) for m in dump["modules"]))
    out.write('\n ],\n "tensors": [\n')
    out.write(",\n".join("  " + json.dumps(t, separators=(",", ":")) for t in tensors))
    out.write("\n ]\n}\n")
print(f"{len(tensors)} tensors, {len(modules)} modules", file=sys.stderr)
