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


# ---- The reliability corpus (docs/reliability.md): every format truncated and bit-flipped, lengths
# near 2^64, offsets past the end, size mismatches, hostile pickles. Bit flips start from the small
# torch-written checkpoints in fuzz/seeds and land on structure (a flip in tensor bytes is a valid file).
SEEDS = HERE.parent.parent.parent / "fuzz" / "seeds"
small_st = (SEEDS / "safetensors_reader" / "small.safetensors").read_bytes()
small_pt = (SEEDS / "torch_reader" / "state_dict_p2.pt").read_bytes()
small_legacy = (SEEDS / "torch_reader" / "state_dict_p2_legacy.pt").read_bytes()


def flip(data, at, bit=0):
    data = bytearray(data)
    data[at] ^= 1 << bit
    return bytes(data)


# Truncated and empty, every format.
write("empty.safetensors", b"")
write("empty.pt", b"")
write("truncated_length.safetensors", small_st[:5])
write("truncated_header.safetensors", small_st[: 8 + struct.unpack("<Q", small_st[:8])[0] // 2])
write("truncated_directory.pt", small_pt[:-10])
write("truncated_pickle_legacy.pt", small_legacy[:40])
(HERE / "sharded_truncated_index").mkdir(exist_ok=True)
index = json.dumps({"metadata": {}, "weight_map": {"w": "model-00001-of-00001.safetensors"}}).encode()
write("sharded_truncated_index/model.safetensors.index.json", index[: len(index) // 2])
(HERE / "sharded_missing_shard").mkdir(exist_ok=True)
write("sharded_missing_shard/model.safetensors.index.json", index)
(HERE / "sharded_wrong_shard").mkdir(exist_ok=True)
write("sharded_wrong_shard/model.safetensors.index.json", index)
write("sharded_wrong_shard/model-00001-of-00001.safetensors", safetensors({"v": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))

# Bit flips on structure.
header_end = 8 + struct.unpack("<Q", small_st[:8])[0]
write("bitflip_length.safetensors", flip(small_st, 0, 6))
offsets_at = small_st.index(b'"data_offsets": [0, ') + len(b'"data_offsets": [0, ')
write("bitflip_offsets.safetensors", flip(small_st, offsets_at, 0))
write("bitflip_dtype.safetensors", flip(small_st, small_st.index(b'"F32"') + 2, 1))  # F32 -> F12
pickle_start = small_pt.index(b"\x80\x02", small_pt.index(b"data.pkl"))
write("bitflip_pickle.pt", flip(small_pt, pickle_start + 5, 2))  # caught by data.pkl's CRC-32
central = small_pt.index(b"PK\x01\x02")
write("bitflip_central_directory.pt", flip(small_pt, small_pt.index(b"PK\x01\x02", central + 4), 3))
write("bitflip_local_header.pt", flip(small_pt, 0, 4))
write("bitflip_end_of_directory.pt", flip(small_pt, small_pt.rindex(b"PK\x05\x06") + 2, 0))
write("bitflip_magic_legacy.pt", flip(small_legacy, 4, 1))
# The legacy stream ends with each storage as an 8-byte little-endian count and its bytes; the
# last storage's count is the 8 bytes before its data. Flip its top bit: a negative count.
write("bitflip_storage_count_legacy.pt", flip(small_legacy, len(small_legacy) - 16 - 1, 7))

# Lengths near 2^64, offsets past the end, sizes that do not add up.
write("header_length_max.safetensors", struct.pack("<Q", 2**64 - 1) + small_st[8:])
write("header_length_wraps.safetensors", struct.pack("<Q", 2**64 - 7) + small_st[8:])
write("offsets_huge.safetensors", safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2**64 - 1]}}, b"\0" * 4))
write("offsets_reversed.safetensors", safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4))
write("offsets_negative.safetensors", safetensors({"w": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, b"\0" * 4))
write("shape_overflow.safetensors", safetensors({"w": {"dtype": "F32", "shape": [2**32, 2**32, 2**32], "data_offsets": [0, 4]}}, b"\0" * 4))
write("shape_negative.safetensors", safetensors({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4))
write("dtype_mismatch.safetensors", safetensors({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8))
write("duplicate_name.safetensors", b"".join([struct.pack("<Q", 96), (
    b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    .ljust(96)[:96])]) + b"\0" * 8)
write("metadata_not_strings.safetensors", safetensors({"__metadata__": {"epoch": 3}}))


def torch_zip_records(name, records):
    stem = pathlib.Path(name).stem
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_STORED) as archive:
        for record, data in records.items():
            archive.writestr(f"{stem}/{record}", data)


def tensor_pickle(numel, size, storage_class=b"FloatStorage"):
    storage = (b"(X\x07\x00\x00\x00storagectorch\n" + storage_class + b"\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu" +
               b"J" + struct.pack("<i", numel) + b"tQ")
    return (b"\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n(" + storage +
            b"K\x00J" + struct.pack("<i", size) + b"\x85K\x01\x85\x89)tRu.")


torch_zip_records("storage_too_small.pt", {"data.pkl": tensor_pickle(16, 16), "data/0": b"\0" * 16, "version": b"3\n"})
torch_zip_records("storage_count_huge.pt", {"data.pkl": tensor_pickle(2**31 - 1, 4), "data/0": b"\0" * 16, "version": b"3\n"})
torch_zip_records("storage_missing.pt", {"data.pkl": tensor_pickle(4, 4), "version": b"3\n"})
torch_zip_records("no_data_pkl.pt", {"data/0": b"\0" * 16, "version": b"3\n"})
with zipfile.ZipFile(HERE / "compressed_record.pt", "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr("compressed_record/data.pkl", tensor_pickle(4, 4))
    archive.writestr("compressed_record/data/0", b"\0" * 16)

# Hostile pickles: code by every route pickle offers, and structures built to exhaust the reader.
torch_zip("builtins_eval.pt", b"\x80\x02cbuiltins\neval\nX\x0a\x00\x00\x00__import__q\x00\x85q\x01Rq\x02.")
torch_zip("stack_global.pt", b"\x80\x04\x95\x00\x00\x00\x00\x00\x00\x00\x00\x8c\nsubprocess\x8c\x05Popen\x93\x8c\x02id\x85R.")
torch_zip("inst_opcode.pt", b"(X\x04\x00\x00\x00trueios\nsystem\n.")
torch_zip("ext_opcode.pt", b"\x80\x02\x82\x01.")
torch_zip("whole_module.pt", b"\x80\x02ctorch.nn.modules.linear\nLinear\nq\x00)\x81q\x01}b.")
torch_zip("deep_dicts.pt", b"\x80\x02" + b"}X\x01\x00\x00\x00k" * depth + b"s" * (depth - 1) + b".")
torch_zip("deep_tuples.pt", b"\x80\x02" + b"(" * depth + b"t" * depth + b".")
torch_zip("memo_missing.pt", b"\x80\x02h\x05.")
torch_zip("stack_underflow.pt", b"\x80\x02a.")
torch_zip("string_past_end.pt", b"\x80\x02X\xff\xff\xff\x7fshort.")
torch_zip("long_past_end.pt", b"\x80\x02\x8b\xff\xff\xff\x7f\x00.")
torch_zip("no_stop.pt", b"\x80\x02}q\x00")
torch_zip("persistent_id_garbage.pt", b"\x80\x02}(X\x01\x00\x00\x00wK\x07Qu.")
torch_zip("unknown_opcode.pt", b"\x80\x02\xfe.")
torch_zip("cycle.pt", b"\x80\x02]q\x00h\x00a.")  # a list that holds itself

# Structures deeper than the stack, built through the memo: each container goes inside the last
# one while still empty and is filled afterwards, so no container sees its real depth when an item
# goes in; the limit must hold for the finished value. Each burst writes 100 levels in about 200
# bytes: the last container remembered (BINGET 0), 100 empty ones, the innermost remembered
# (BINPUT 0), each closed into the one before, POP. 200,000 levels crashed taxon on a default
# 8 MB stack: freeing them was a recursion.
memo_depth, burst = 200_000, 100


def memo_chain(head, one_burst, end=b"."):
    return b"\x80\x02" + head + b"q\x00" + one_burst * (memo_depth // burst) + end


torch_zip("deep_memo_lists.pt", memo_chain(b"]", b"h\x00" + b"]" * burst + b"q\x00" + b"a" * burst + b"0"))
torch_zip("deep_memo_dicts.pt", memo_chain(b"}", b"h\x00" + b"N}" * burst + b"q\x00" + b"s" * burst + b"0"))  # key None
torch_zip("deep_memo_state.pt", memo_chain(b"}", b"h\x00" + b"}" * burst + b"q\x00" + b"b" * burst + b"0"))  # BUILD
# Every link held twice ([x, x], by DUP and LIST or APPENDS), and the data ends before STOP: the
# error comes mid-parse, with the whole chain to free. A teardown that defers only children it
# holds the last reference to sees a count of 2 on both and recursed here.
torch_zip("deep_memo_shared.pt", memo_chain(
    b"]", b"h\x00(" + b"(" * (burst - 1) + b"]q\x00" + b"2l" * (burst - 1) + b"2e0", end=b""))


# ---- Checkpoints from the wild (issue 15). taxon reads numpy, argparse, omegaconf, pathlib,
# datetime, collections and builtins classes as data, holds other classes as opaque records, and
# refuses a hostile callable wherever it sits. Each file below is a real checkpoint ({"state_dict":
# {"w": 4 floats}, "extra": ENTRY}) with one thing in ENTRY: a hostile callable hidden where a
# reader that checks only what it calls, or only the top of the tree, would miss it (T0607), or a
# data class whose arguments or state do not hold together (T0606). The pickles are protocol 2
# (unless marked) as torch.save writes them (Python 3 spells builtins `__builtin__` and copyreg `copy_reg` there).
def text(value):  # BINUNICODE
    raw = value.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def short_text(value):  # SHORT_BINUNICODE (protocol 4)
    raw = value.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def glob(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def data_bytes(raw):  # bytes as protocol 2 writes them: _codecs.encode(text, "latin1")
    return glob("_codecs", "encode") + text(raw.decode("latin-1")) + text("latin1") + b"\x86R"


WEIGHT = (glob("torch._utils", "_rebuild_tensor_v2") + b"((" + text("storage") + glob("torch", "FloatStorage") +
          text("0") + text("cpu") + b"K\x04tQK\x00K\x04\x85K\x01\x85\x89)tR")


def wild_checkpoint(name, entry, protocol=2, prefix=b""):
    pickle = (bytes([0x80, protocol]) + prefix + b"}(" + text("state_dict") + b"}" + text("w") + WEIGHT + b"s" +
              text("extra") + entry + b"u.")
    stem = pathlib.Path(name).stem
    with zipfile.ZipFile(HERE / name, "w", zipfile.ZIP_STORED) as archive:  # a fixed date: the same bytes every run
        for record, data in {"data.pkl": pickle, "data/0": struct.pack("<4f", 1, 2, 3, 4), "version": b"3\n"}.items():
            archive.writestr(zipfile.ZipInfo(f"{stem}/{record}", date_time=(2024, 1, 1, 0, 0, 0)), data)


def numpy_dtype(code, order=b"<", flags=0):  # numpy.dtype(code, False, True), then BUILD its state (flags 63: objects)
    return (glob("numpy", "dtype") + text(code) + b"\x89\x88\x87R" + b"(K\x03" + text(order.decode()) +
            b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK" + bytes([flags]) + b"tb")


def numpy_array(shape, dtype, raw):  # _reconstruct(ndarray, (0,), b"b"), then BUILD (1, shape, dtype, fortran, raw)
    return (glob("numpy.core.multiarray", "_reconstruct") + glob("numpy", "ndarray") + b"K\x00\x85" + data_bytes(b"b") +
            b"\x87R" + b"(K\x01" + shape + dtype + b"\x89" + raw + b"tb")


def omegaconf_metadata(cls, object_type, key):  # omegaconf 2.2's Metadata / ContainerMetadata
    fields = (text("ref_type") + glob("typing", "Any") + text("object_type") + object_type + text("optional") + b"\x88" +
              text("key") + key + text("flags") + b"}" + text("flags_root") + b"\x89" + text("resolver_cache") +
              glob("collections", "defaultdict") + glob("__builtin__", "dict") + b"\x85R")
    if cls == "ContainerMetadata":
        fields += text("key_type") + glob("typing", "Any") + text("element_type") + glob("typing", "Any")
    return glob("omegaconf.base", cls) + b")\x81}(" + fields + b"ub"


def dict_config(content):  # DictConfig (memo 50); content's nodes point back at it with BINGET 50
    return (glob("omegaconf.dictconfig", "DictConfig") + b")\x81q\x32}(" + text("_metadata") +
            omegaconf_metadata("ContainerMetadata", glob("__builtin__", "dict"), b"N") + text("_parent") + b"N" +
            text("_content") + content + b"ub")


def any_node(key, value):  # an AnyNode whose parent is the DictConfig in memo 50
    return (glob("omegaconf.nodes", "AnyNode") + b")\x81}(" + text("_metadata") +
            omegaconf_metadata("Metadata", b"N", text(key)) + text("_parent") + b"h\x32" + text("_val") + value + b"ub")


def namespace(state):
    return glob("argparse", "Namespace") + b")\x81" + state + b"b"


# Hostile: the callable is refused by name, wherever it sits (T0607).
# (a) in an opaque object's constructor arguments: called while the arguments are built ...
wild_checkpoint("hostile_opaque_args_call.pt", glob("mypkg", "Thing") + b"(" + glob("os", "system") +
                text("echo pwned") + b"\x85Rt\x81")
# ... or handed over uncalled, for the class to call
wild_checkpoint("hostile_opaque_args_callable.pt", glob("mypkg", "Thing") + b"(" + glob("os", "system") +
                text("echo pwned") + b"tR")
# (b) in the state BUILD gives an opaque object
wild_checkpoint("hostile_opaque_state.pt", glob("mypkg", "Thing") + b")\x81}(" + text("name") + text("thing") +
                text("hook") + glob("posix", "system") + text("id") + b"\x85Rub")
# (c) behind copyreg._reconstructor (its protocol-2 spelling): Popen.__new__ and Popen.__init__ run `id`
wild_checkpoint("hostile_copyreg_reconstructor.pt", glob("copy_reg", "_reconstructor") + b"(" +
                glob("subprocess", "Popen") + b"q\x01h\x01]" + text("id") + b"atR")
# (d) remembered, then dropped from the stack before the root starts, then fetched from the memo and
#     called four containers deep: it never sits in the finished value
wild_checkpoint("hostile_memo_deep.pt", b"}" + text("a") + b"}" + text("b") + b"]}" + text("run") + b"h\x09" +
                text("id") + b"\x85Rsass", prefix=glob("posix", "system") + b"q\x090")
# (e) functools.partial around subprocess.Popen and posix.system, then called
wild_checkpoint("hostile_partial_popen.pt", glob("functools", "partial") + b"(" + glob("subprocess", "Popen") + b"]" +
                text("id") + b"atR)R")
wild_checkpoint("hostile_partial_posix_system.pt", glob("functools", "partial") + b"(" + glob("posix", "system") +
                text("id") + b"tR)R")
# (f) builtins.getattr fetching `system` from the os module, reached as posixpath's attribute `os`
wild_checkpoint("hostile_getattr_os_module.pt", glob("builtins", "getattr") + b"(" + glob("posixpath", "os") +
                text("system") + b"tR(" + text("id") + b"tR")
# (g) protocol 4's STACK_GLOBAL walks dotted names: a special attribute, and torch.serialization's `os`
wild_checkpoint("hostile_dotted_subclasses.pt", short_text("builtins") + short_text("object.__subclasses__") +
                b"\x93)R", protocol=4)
wild_checkpoint("hostile_dotted_module_attribute.pt", short_text("torch") + short_text("serialization.os.system") +
                b"\x93" + short_text("id") + b"\x85R", protocol=4)
# (h) importing, running code, loading code or another pickle
wild_checkpoint("hostile_importlib.pt", glob("importlib", "import_module") + text("os") + b"\x85R")
wild_checkpoint("hostile_runpy.pt", glob("runpy", "_run_code") + b"(" + text("import os; os.system('id')") + b"}tR")
# (the bytes are no real code object: the name must be refused before they matter)
wild_checkpoint("hostile_marshal_loads.pt", glob("marshal", "loads") + data_bytes(b"\xe3\x00\x00\x00\x00") + b"\x85R")
wild_checkpoint("hostile_pickle_loads.pt", glob("pickle", "loads") +
                data_bytes(b"\x80\x02cposix\nsystem\nX\x02\x00\x00\x00id\x85R.") + b"\x85R")
# (i) numpy's own: runstring is exec; numpy.load(path, None, allow_pickle=True) unpickles another file
wild_checkpoint("hostile_numpy_runstring.pt", glob("numpy.testing._private.utils", "runstring") + b"(" +
                text("import os; os.system('id')") + b"}tR")
wild_checkpoint("hostile_numpy_load.pt", glob("numpy", "load") + b"(" + text("/tmp/evil.npy") + b"N\x88tR")
# Python 2 spellings that Python 3's unpickler maps back (fix_imports): __builtin__.eval is eval,
# commands.getoutput is subprocess.getoutput, __builtin__.reduce is functools.reduce (how Python 3
# itself pickles functools.reduce at protocol 2)
wild_checkpoint("hostile_py2_builtin_eval.pt", glob("__builtin__", "eval") + text("__import__('os').system('id')") + b"\x85R")
wild_checkpoint("hostile_py2_commands.pt", glob("commands", "getoutput") + text("id") + b"\x85R")
wild_checkpoint("hostile_py2_builtin_reduce.pt", glob("__builtin__", "reduce") + b"(" + glob("mypkg", "step") + b"]" +
                text("a") + text("b") + b"\x86" + b"atR")
# Inside data classes: a DictConfig node's value, numpy's _reconstruct arguments, a Namespace's state,
# a dict key, a defaultdict's factory (called on the first missing key), a list item
wild_checkpoint("hostile_in_dictconfig.pt", dict_config(b"}(" + text("lr") + any_node(
    "lr", glob("__builtin__", "exec") + text("import os; os.system('id')") + b"\x85R") + b"u"))
wild_checkpoint("hostile_in_numpy_args.pt", glob("numpy.core.multiarray", "_reconstruct") + b"(" +
                glob("numpy", "ndarray") + b"K\x00\x85" + glob("builtins", "eval") + text("__import__('os').system('id') or b'b'") +
                b"\x85RtR")
wild_checkpoint("hostile_in_namespace.pt", namespace(b"}(" + text("lr") + b"G?\xb9\x99\x99\x99\x99\x99\x9a" + text("log") +
                                                    glob("builtins", "open") + text("/etc/passwd") + b"\x85Ru"))
wild_checkpoint("hostile_dict_key.pt", b"}" + glob("os", "system") + b"K\x01s")
wild_checkpoint("hostile_defaultdict_factory.pt", glob("collections", "defaultdict") + glob("os", "abort") + b"\x85R")
wild_checkpoint("hostile_nt_in_list.pt", b"](K\x01" + glob("nt", "system") + text("calc.exe") + b"\x85Re")

# Malformed data classes: one clear error each (T0606), never a crash or an allocation the bytes do not back.
wild_checkpoint("malformed_dictconfig_content_list.pt", dict_config(b"](K\x01K\x02e"))
wild_checkpoint("malformed_numpy_shape_lie.pt", numpy_array(b"M\xe8\x03M\xe8\x03\x86", numpy_dtype("f4"),
                                                            data_bytes(b"\x00" * 16)))  # (1000, 1000) float32 in 16 bytes
wild_checkpoint("malformed_numpy_negative_shape.pt", numpy_array(b"J\xfc\xff\xff\xff\x85", numpy_dtype("f4"),
                                                                 data_bytes(b"\x00" * 16)))  # (-4,)
wild_checkpoint("malformed_numpy_dtype_unknown.pt", numpy_array(b"K\x04\x85", numpy_dtype("q9"), data_bytes(b"\x00" * 16)))
wild_checkpoint("malformed_numpy_object_count.pt", numpy_array(b"K\x05\x85", numpy_dtype("O8", b"|", 63),
                                                               b"](K\x01K\x02e"))  # 5 objects, 2 given
# (numpy 1.24 itself reads past the list on this one: torch.load segfaults, or returns stray objects)
wild_checkpoint("malformed_numpy_scalar_short.pt", glob("numpy.core.multiarray", "scalar") + numpy_dtype("f8") +
                data_bytes(b"\x00\x00\x00") + b"\x86R")  # 3 bytes for a float64
wild_checkpoint("malformed_datetime_length.pt", glob("datetime", "datetime") + data_bytes(b"\x07\xe8\x02") + b"\x85R")
wild_checkpoint("malformed_namespace_state_list.pt", namespace(b"](K\x01K\x02e"))
wild_checkpoint("malformed_deque_maxlen.pt", glob("collections", "deque") + b")" + text("five") + b"\x86R")
