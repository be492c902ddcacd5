"""Writes the corrupt checkpoints in this folder, from the good fixtures in ../ckpt.

Each file breaks one thing; `taxon dump` must answer each with one clear error
(exit 2) and no output. Run from this folder with any Python 3 (no torch needed):
    python3 make_bad_checkpoints.py
"""
import json
import pathlib
import struct
import zipfile

HERE = pathlib.Path(__file__).parent
GOOD = HERE.parent / "ckpt"

good_st = (GOOD / "llama_tiny" / "model.safetensors").read_bytes()
good_pt = (GOOD / "llama_tiny" / "state_dict.pt").read_bytes()
good_legacy = (GOOD / "llama_tiny" / "legacy.pt").read_bytes()


def write(name, data):
    (HERE / name).write_bytes(data)


def safetensors(header, data=b""):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


write("truncated.safetensors", good_st[: len(good_st) // 2])
write("header_length_huge.safetensors", struct.pack("<Q", 2**63 + 5) + good_st[8:])
write("header_past_end.safetensors", struct.pack("<Q", len(good_st)) + good_st[8:])
write("header_not_json.safetensors", struct.pack("<Q", 16) + b"{not json at all" + b"\0" * 8)
write("offsets_past_end.safetensors", safetensors({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}, b"\0" * 16))
write("overlap.safetensors", safetensors({
    "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12))
write("gap.safetensors", safetensors({
    "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
    "b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, b"\0" * 12))
write("byte_count.safetensors", safetensors({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8))
write("unknown_dtype.safetensors", safetensors({"w": {"dtype": "F12", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
write("truncated.pt", good_pt[: len(good_pt) // 2])
write("truncated_legacy.pt", good_legacy[: len(good_legacy) // 2])
write("not_a_checkpoint.pt", b"epoch: 7\nlr: 0.001\n")


def torch_zip(name, pickle_bytes):
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{pathlib.Path(name).stem}/data.pkl", pickle_bytes)
        archive.writestr(f"{pathlib.Path(name).stem}/version", b"3\n")


# A pickle that would run os.system("echo pwned") when unpickled by Python.
torch_zip("os_system.pt", b"\x80\x02cos\nsystem\nX\x0b\x00\x00\x00echo pwnedq\x00\x85q\x01Rq\x02.")
# Lists nested 10,000 deep: EMPTY_LIST x N, then APPEND x (N-1).
depth = 10000
torch_zip("deep_nesting.pt", b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b".")
# A tensor whose view reads past the end of its storage.
storage_id = b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQ"
pickle = (b"\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n(" + storage_id +
          b"K\x00K\x10\x85K\x01\x85\x89)tRu.")
with zipfile.ZipFile(HERE / "view_past_storage.pt", "w", zipfile.ZIP_STORED) as archive:
    archive.writestr("view_past_storage/data.pkl", pickle)
    archive.writestr("view_past_storage/data/0", b"\0" * 16)
    archive.writestr("view_past_storage/version", b"3\n")
