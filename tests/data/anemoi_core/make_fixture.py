#!/usr/bin/python3
"""A LightningModule shaped as anemoi-training's (GraphForecaster -> AnemoiModelInterface ->
AnemoiModelEncProcDec), with anemoi's real module paths, at toy sizes; and a checkpoint of it as
anemoi-models < 0.11 wrote one (a chunked processor).

Writes:
  tests/data/dumps/anemoi/graph_forecaster.json  the model dump (taxon's describe: modules with
      classes, shared modules under each path with alias_of: the mapper's
      layer_norm_attention_dest *is* its layer_norm_attention, as in anemoi's
      GraphTransformerMapperBlock)
  tests/data/ckpt/anemoi/chunked_v010.safetensors  checkpoint["state_dict"] of an older run:
      processor.proc.C.blocks.B (2 chunks of 2 blocks), its own data statistics, a decoder
      head for 6 output variables where the current model has 8

Paths follow anemoi-core 2cb9b6e1 (models/src/anemoi/models/layers/block.py, mapper.py,
processor.py; interface/__init__.py); the sizes are not anemoi's. Run with Debian's python3
(torch): /usr/bin/python3 tests/data/anemoi_core/make_fixture.py
"""

import importlib.util
import json
import struct
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[3]
CHANNELS = 8


class MapperBlock(nn.Module):  # GraphTransformerMapperBlock
    def __init__(self):
        super().__init__()
        self.lin_key = nn.Linear(CHANNELS, CHANNELS)
        self.lin_query = nn.Linear(CHANNELS, CHANNELS)
        self.lin_value = nn.Linear(CHANNELS, CHANNELS)
        self.projection = nn.Linear(CHANNELS, CHANNELS)
        self.layer_norm_attention = nn.LayerNorm(CHANNELS)
        self.layer_norm_attention_src = nn.LayerNorm(CHANNELS)
        self.layer_norm_attention_dest = self.layer_norm_attention  # block.py:941
        self.node_dst_mlp = nn.Sequential(nn.Linear(CHANNELS, CHANNELS), nn.GELU(), nn.Linear(CHANNELS, CHANNELS))


class Mapper(nn.Module):  # GraphTransformerForwardMapper / BackwardMapper
    def __init__(self, out_variables=None):
        super().__init__()
        self.emb_nodes_src = nn.Linear(CHANNELS, CHANNELS)
        self.proc = MapperBlock()
        if out_variables:
            self.node_data_extractor = nn.Linear(CHANNELS, out_variables)


class ProcessorBlock(nn.Module):  # GraphTransformerProcessorBlock
    def __init__(self):
        super().__init__()
        self.layer_norm_attention = nn.LayerNorm(CHANNELS)
        self.lin_key = nn.Linear(CHANNELS, CHANNELS)
        self.lin_query = nn.Linear(CHANNELS, CHANNELS)
        self.lin_value = nn.Linear(CHANNELS, CHANNELS)
        self.layer_norm_mlp = nn.LayerNorm(CHANNELS)
        self.node_dst_mlp = nn.Sequential(nn.Linear(CHANNELS, CHANNELS), nn.GELU(), nn.Linear(CHANNELS, CHANNELS))


class Processor(nn.Module):  # GraphTransformerProcessor (anemoi-models >= 0.11: one flat list)
    def __init__(self, num_layers):
        super().__init__()
        self.proc = nn.ModuleList([ProcessorBlock() for _ in range(num_layers)])


class AnemoiModelEncProcDec(nn.Module):
    def __init__(self, out_variables):
        super().__init__()
        self.register_buffer("_model_output_idx", torch.arange(out_variables))
        self.encoder = nn.ModuleDict({"data": Mapper()})
        self.processor = Processor(num_layers=4)
        self.decoder = nn.ModuleDict({"data": Mapper(out_variables)})


class Normalizer(nn.Module):
    def __init__(self, variables):
        super().__init__()
        self.register_buffer("_norm_mul", torch.ones(variables))
        self.register_buffer("_norm_add", torch.zeros(variables))


class Processors(nn.Module):
    def __init__(self, variables):
        super().__init__()
        self.processors = nn.ModuleDict({"normalizer": Normalizer(variables)})


class AnemoiModelInterface(nn.Module):
    def __init__(self, out_variables):
        super().__init__()
        for name in ("pre_processors", "post_processors", "pre_processors_tendencies", "post_processors_tendencies"):
            setattr(self, name, nn.ModuleDict({"data": Processors(out_variables)}))
        self.model = AnemoiModelEncProcDec(out_variables)


class GraphForecaster(nn.Module):  # the LightningModule (pytorch_lightning is not needed for its layout)
    def __init__(self, out_variables=8):
        super().__init__()
        self.model = AnemoiModelInterface(out_variables)


def describe(model):
    spec = importlib.util.spec_from_file_location("taxon_describe", ROOT / "python/taxon/_describe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.describe(model, name="GraphForecaster")


def chunked_state_dict():
    """An anemoi-models 0.10 run of the same network: 2 chunks of 2 processor blocks, 6 outputs."""
    old = GraphForecaster(out_variables=6)
    out = {}
    for key, tensor in old.state_dict().items():
        parts = key.split(".")
        if key.startswith("model.model.processor.proc."):
            flat = int(parts[4])
            parts[4:5] = [str(flat // 2), "blocks", str(flat % 2)]
        out[".".join(parts)] = tensor.detach().float().contiguous()
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, tensor in tensors.items():
        data = tensor.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    torch.manual_seed(0)
    dump = ROOT / "tests/data/dumps/anemoi/graph_forecaster.json"
    dump.parent.mkdir(parents=True, exist_ok=True)
    dump.write_text(json.dumps(describe(GraphForecaster()), indent=1) + "\n")
    torch.manual_seed(1)
    write_safetensors(ROOT / "tests/data/ckpt/anemoi/chunked_v010.safetensors", chunked_state_dict())
    print(f"wrote {dump.relative_to(ROOT)} and tests/data/ckpt/anemoi/chunked_v010.safetensors")


if __name__ == "__main__":
    main()
