"""Fixtures for tests/python/check_plan_verdicts.py: a tiny model with what the other fixtures
(tests/data/ckpt, tests/data/dumps) lack all at once, so a load verdict can be checked against
PyTorch on each of them: a tied weight (an embedding and a head sharing one Parameter), BatchNorm
buffers (an int64 num_batches_tracked), a persistent buffer of its own and a non-persistent one.

Run once with Debian's PyTorch (/usr/bin/python3 with python3-torch) from this folder:
    /usr/bin/python3 make_verdicts.py
It writes
  tied_bn.json                  the model's dump (tools/dump_model.py): head.weight tied_to embed.weight
  tied_bn.pt                    its state dict, torch.save: both names of the tie, one storage
  tied_bn_ddp.pt                the same under DistributedDataParallel's "module." prefix
  tied_bn_untied.safetensors    the state dict without head.weight, as transformers' save_pretrained
                                writes a tied model (safetensors cannot hold two names for one storage)
plans.tx, next to them, is written by hand.
"""
import json
import pathlib
import struct
import sys

import torch

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "tools"))
from dump_model import write_model_dump  # noqa: E402


class TiedBN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(10, 4)
        self.conv = torch.nn.Conv2d(4, 4, 1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.head = torch.nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight
        self.register_buffer("class_weight", torch.linspace(0.5, 1.5, 10))
        self.register_buffer("cache", torch.zeros(4), persistent=False)


def save_safetensors(path, tensors):
    codes = {torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        tensor = tensor.contiguous()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": codes[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


torch.manual_seed(0)
model = TiedBN()
model.train()
model.bn(torch.randn(2, 4, 3, 3))  # running statistics and num_batches_tracked that are not their defaults
write_model_dump(model, HERE / "tied_bn.json")
state = model.state_dict()
assert state["head.weight"].data_ptr() == state["embed.weight"].data_ptr()
torch.save(state, HERE / "tied_bn.pt")
torch.save({"module." + name: tensor for name, tensor in state.items()}, HERE / "tied_bn_ddp.pt")
save_safetensors(HERE / "tied_bn_untied.safetensors", {n: t for n, t in state.items() if n != "head.weight"})
