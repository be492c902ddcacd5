"""Writes small seed inputs for the binary fuzz targets into fuzz/seeds/<target>/.

Real checkpoints are mostly tensor bytes, which a fuzzer would spend its time mutating for
nothing; these hold a few tiny tensors each but every structure the readers know: OrderedDict
state dicts, nested checkpoints, ties, views into a shared storage, several dtypes, every pickle
protocol torch writes, the zip and the legacy formats, and safetensors with metadata.
Run with Debian's python3-torch (the seeds are committed; this is only for regenerating them):
    /usr/bin/python3 fuzz/make_seeds.py
"""
import collections
import io
import json
import pathlib
import struct
import zipfile

import torch

HERE = pathlib.Path(__file__).parent / "seeds"


def write(target, name, data):
    folder = HERE / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def saved(obj, **kwargs):
    buffer = io.BytesIO()
    torch.save(obj, buffer, **kwargs)
    return buffer.getvalue()


weight = torch.arange(6, dtype=torch.float32).reshape(2, 3)
shared = torch.arange(8, dtype=torch.float16)
state = collections.OrderedDict()
state["embed.weight"] = weight
state["head.weight"] = weight  # a tie
state["norm.bias"] = torch.zeros(3, dtype=torch.bfloat16)
state["steps"] = torch.tensor(7, dtype=torch.int64)
state["half.lo"] = shared[:4]  # two views of one storage
state["half.hi"] = shared[4:]
state["mask"] = torch.tensor([True, False])
state["t"] = weight.t()  # non-contiguous
state._metadata = collections.OrderedDict({"": {"version": 1}})

checkpoints = {
    "state_dict": state,
    "nested": {"model": state, "epoch": 3, "lr": 0.5, "name": "run", "none": None, "ids": [1, 2, (3, 4)]},
    "plain_dict": {"w": torch.ones(2, 2, dtype=torch.float64), "i": torch.ones(3, dtype=torch.int8)},
    "parameter": {"p": torch.nn.Parameter(torch.ones(2))},
}
for name, obj in checkpoints.items():
    for protocol in (2, 4):
        zipped = saved(obj, pickle_protocol=protocol)
        write("torch_reader", f"{name}_p{protocol}.pt", zipped)
        write("zip_archive", f"{name}_p{protocol}.pt", zipped)
        with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
            pickle_name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            write("pickle", f"{name}_p{protocol}.pkl", archive.read(pickle_name))
        write("torch_reader", f"{name}_p{protocol}_legacy.pt",
              saved(obj, pickle_protocol=protocol, _use_new_zipfile_serialization=False))
# An ordinary zip with a compressed record, which torch never writes.
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    archive.writestr("archive/version", b"3\n")
write("zip_archive", "deflated.zip", buffer.getvalue())


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64", torch.bool: "BOOL",
             torch.uint8: "U8"}
    for key, tensor in tensors.items():
        raw = tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[key] = {"dtype": codes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


write("safetensors_reader", "small.safetensors",
      safetensors({"embed.weight": weight, "norm.bias": torch.zeros(3, dtype=torch.bfloat16),
                   "steps": torch.tensor(7, dtype=torch.int64), "mask": torch.tensor([True, False])},
                  {"format": "pt"}))
write("safetensors_reader", "empty_tensor.safetensors",
      safetensors({"empty": torch.zeros(0, 4), "h": torch.ones(2, dtype=torch.float16), "u": torch.ones(1, dtype=torch.uint8)}))
write("safetensors_reader", "no_tensors.safetensors", safetensors({}, {"note": "nothing"}))


# Containers nested through the memo, each filled after it went into the one before, so that no
# APPEND sees the depth it makes: 50 levels of lists as the issue had them (LONG_BINGET i,
# EMPTY_LIST, LONG_BINPUT i+1, APPEND, POP), then of dicts by SETITEM and of dicts' state by BUILD
# through memo slot 0, in one dict. The mutator in fuzz/pickle.cpp and the entries in
# fuzz/pickle.dict repeat such levels (slot 0 still holds the last dict) past the depth limit.
def memo_nesting(levels=50):
    out = b"\x80\x02}\x8c\x05lists]r" + struct.pack("<I", 0)
    for i in range(levels):
        out += b"j" + struct.pack("<I", i) + b"]r" + struct.pack("<I", i + 1) + b"a0"
    out += b"s\x8c\x05dicts}q\x00" + b"h\x00N}q\x00s0" * levels
    out += b"s\x8c\x05state}q\x00" + b"h\x00}q\x00b0" * levels
    return out + b"s."


write("pickle", "memo_nesting.pkl", memo_nesting())


# Checkpoints from the wild (issue 15): the data.pkl of each fixture in tests/data/wild (numpy
# arrays, scalars and dtypes, omegaconf configs whose nodes point back at their parent,
# argparse.Namespace, datetime, collections, pathlib, opaque user classes; protocols 2 and 4), the
# smallest whole files, and a few hostile and malformed pickles from tests/data/bad. Copied from the
# committed files, which their own generators write.
WILD = HERE.parent.parent / "tests" / "data" / "wild"
BAD = HERE.parent.parent / "tests" / "data" / "bad"


def data_pkl(path):
    with zipfile.ZipFile(path) as archive:
        return archive.read(next(n for n in archive.namelist() if n.endswith("/data.pkl")))


for fixture in ["lightning_hydra.ckpt", "research.pth", "data_zoo.pt", "data_zoo_p4.pt", "opaque_in_list.pt"]:
    write("pickle", f"wild_{pathlib.Path(fixture).stem}.pkl", data_pkl(WILD / fixture))
for fixture in ["opaque_in_list.pt", "data_zoo_p4.pt"]:
    write("torch_reader", f"wild_{fixture}", (WILD / fixture).read_bytes())
for bad in ["hostile_memo_deep", "hostile_in_dictconfig", "hostile_dotted_module_attribute", "hostile_opaque_state",
            "malformed_numpy_shape_lie", "malformed_numpy_object_count", "malformed_dictconfig_content_list"]:
    write("pickle", f"{bad}.pkl", data_pkl(BAD / f"{bad}.pt"))
