"""Fixtures for split, fuse, stack, unstack, transpose, reshape and rows, computed by PyTorch itself.

Run once with Debian's PyTorch (/usr/bin/python3 with python3-torch) from this folder:
    /usr/bin/python3 make_surgery.py
It writes
  input.safetensors, expected.safetensors  what plan.tx must turn the one into the other;
  mixtral_v4.safetensors                   a tiny Mixtral in transformers 4's layout (one tensor per expert);
  mixtral_v5.safetensors                   the same weights as transformers 5 builds Mixtral (3-D experts tensors).
The committed files are the values; the tests do not need PyTorch.
"""
import json
import struct

import torch

torch.manual_seed(0)


def save(path, tensors):
    codes = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        tensor = tensor.contiguous()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": codes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# input.safetensors -> expected.safetensors, by plan.tx (in the same order).
x, y = {}, {}
r = torch.randn
x["blocks.0.attn.qkv.weight"] = r(12, 4)
x["blocks.0.attn.qkv.bias"] = r(12)
for part, t in zip("qkv", x["blocks.0.attn.qkv.weight"].chunk(3, 0)):
    y[f"blocks.0.attn.{part}.weight"] = t
for part, t in zip("qkv", x["blocks.0.attn.qkv.bias"].chunk(3, 0)):
    y[f"blocks.0.attn.{part}.bias"] = t
x["gqa.qkv.weight"] = r(8, 4)
for part, t in zip("qkv", torch.split(x["gqa.qkv.weight"], [4, 2, 2], 0)):
    y[f"gqa.{part}.weight"] = t
for suffix, shape in (("weight", (4, 4)), ("bias", (4,))):
    for part in ("query", "key", "value"):
        x[f"hf.{part}.{suffix}"] = r(*shape)
    y[f"hf.qkv.{suffix}"] = torch.cat([x[f"hf.{p}.{suffix}"] for p in ("query", "key", "value")], 0)
for e in range(3):
    x[f"moe.experts.{e}.w2.weight"] = r(4, 6).to(torch.bfloat16)
y["moe.experts.down_proj"] = torch.stack([x[f"moe.experts.{e}.w2.weight"] for e in range(3)], 0)
x["packed.down_proj"] = r(3, 4, 6)
for e, t in enumerate(x["packed.down_proj"].unbind(0)):
    y[f"packed.{e}.weight"] = t
x["conv1d.weight"] = r(4, 6)
y["conv1d.weight"] = x["conv1d.weight"].transpose(-2, -1)
x["proj.weight"] = r(8, 4)
y["proj.weight"] = x["proj.weight"].reshape(8, 4, 1, 1)
x["embed.weight"] = r(10, 4)
y["embed.weight"] = torch.cat([x["embed.weight"], x["embed.weight"].float().mean(0, keepdim=True).expand(3, -1)])
x["lm_head.weight"] = r(10, 4)
g = torch.Generator().manual_seed(7)
y["lm_head.weight"] = torch.cat([x["lm_head.weight"], torch.empty(3, 4).normal_(0, 0.02, generator=g)])
x["bias_vocab"] = r(10)
y["bias_vocab"] = torch.cat([x["bias_vocab"], torch.zeros(2)])
x["old_vocab.weight"] = r(10, 4)
y["old_vocab.weight"] = x["old_vocab.weight"][:8]
x["col.weight"] = r(4, 6)
y["col.a.weight"], y["col.b.weight"] = torch.split(x["col.weight"], 3, dim=1)
x["rowfuse.a"] = r(2, 3)
x["rowfuse.b"] = r(2, 5)
y["rowfuse.ab"] = torch.cat([x["rowfuse.a"], x["rowfuse.b"]], -1)
save("input.safetensors", x)
save("expected.safetensors", y)

# A tiny Mixtral: 2 layers, 4 experts, hidden 8, intermediate 12, vocab 32.
layers, experts, hidden, inter, vocab = 2, 4, 8, 12, 32
v4, v5 = {}, {}
v4["model.embed_tokens.weight"] = r(vocab, hidden).to(torch.bfloat16)
for l in range(layers):
    p = f"model.layers.{l}"
    for name, shape in (("q_proj", (hidden, hidden)), ("k_proj", (4, hidden)), ("v_proj", (4, hidden)), ("o_proj", (hidden, hidden))):
        v4[f"{p}.self_attn.{name}.weight"] = r(*shape).to(torch.bfloat16)
    v4[f"{p}.input_layernorm.weight"] = r(hidden).to(torch.bfloat16)
    v4[f"{p}.post_attention_layernorm.weight"] = r(hidden).to(torch.bfloat16)
    v4[f"{p}.block_sparse_moe.gate.weight"] = r(experts, hidden).to(torch.bfloat16)
    for e in range(experts):
        v4[f"{p}.block_sparse_moe.experts.{e}.w1.weight"] = r(inter, hidden).to(torch.bfloat16)
        v4[f"{p}.block_sparse_moe.experts.{e}.w2.weight"] = r(hidden, inter).to(torch.bfloat16)
        v4[f"{p}.block_sparse_moe.experts.{e}.w3.weight"] = r(inter, hidden).to(torch.bfloat16)
v4["model.norm.weight"] = r(hidden).to(torch.bfloat16)
v4["lm_head.weight"] = r(vocab, hidden).to(torch.bfloat16)
for name, t in v4.items():
    if ".block_sparse_moe." not in name:
        v5[name] = t
for l in range(layers):
    p = f"model.layers.{l}"
    e4 = f"{p}.block_sparse_moe.experts"
    v5[f"{p}.mlp.gate.weight"] = v4[f"{p}.block_sparse_moe.gate.weight"]
    # transformers 5: gate_up_proj (experts, 2 * intermediate, hidden), gate rows first; down_proj (experts, hidden, intermediate).
    v5[f"{p}.mlp.experts.gate_up_proj"] = torch.stack(
        [torch.cat([v4[f"{e4}.{e}.w1.weight"], v4[f"{e4}.{e}.w3.weight"]], 0) for e in range(experts)], 0)
    v5[f"{p}.mlp.experts.down_proj"] = torch.stack([v4[f"{e4}.{e}.w2.weight"] for e in range(experts)], 0)
save("mixtral_v4.safetensors", v4)
save("mixtral_v5.safetensors", v5)
print(len(x), "inputs,", len(y), "expected;", len(v4), "->", len(v5), "Mixtral tensors")
