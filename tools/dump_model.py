#!/usr/bin/env python3
"""Write a taxon model dump (model-dump/1, docs/model-dump.md) of any torch.nn.Module.

With a dump, `taxon lint` and `taxon eval` see your real model: every parameter and buffer,
its shape, dtype, owning module and that module's class (with the classes it inherits from, so
that `type in {LayerNorm}` answers as isinstance() does), what is frozen and what is tied.
Nothing but torch is needed, and only shapes are read: a model built on the meta device
(`with torch.device("meta"):` in torch 2, or `torch.nn.utils.skip_init`) dumps without
allocating its weights.

From Python:
    from dump_model import model_dump, write_model_dump
    write_model_dump(model, "model.json")            # or model_dump(model) -> dict

From the shell, with a factory that builds the model:
    python3 tools/dump_model.py my_pkg.models:build_vit --kwargs '{"depth": 12}' -o vit.json
    python3 tools/dump_model.py --torchscript scripted.pt -o scripted.json
"""
import argparse
import importlib
import importlib.util
import json
import pathlib
import sys

import torch

def _describe_module():
    # taxon.describe() walks the model; this script is its command line. From a checkout it loads
    # python/taxon/_describe.py directly (pure Python: no extension to build), else the installed
    # package's.
    source = pathlib.Path(__file__).resolve().parent.parent / "python" / "taxon" / "_describe.py"
    if source.is_file():
        spec = importlib.util.spec_from_file_location("taxon_describe", source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    from taxon import _describe
    return _describe


_describe = _describe_module()
FORMAT = _describe.FORMAT


def model_dump(model, name=None, stages=None):
    """The dump as a dict: tensors in named_parameters(), then named_buffers() order,
    duplicates (ties) included and marked with `tied_to` (taxon.describe)."""
    return _describe.describe(model, name=name, stages=stages)


def write_model_dump(model, path, name=None, stages=None):
    """Writes the dump to `path` (JSON, one line per module and per tensor)."""
    dump = model_dump(model, name=name, stages=stages)
    with open(path, "w") as out:
        out.write(_to_json(dump))
    return dump


def _to_json(dump):
    lines = ["{"]
    for key, value in dump.items():
        if key in ("modules", "tensors"):
            rows = ",\n".join("  " + json.dumps(row, separators=(",", ":")) for row in value)
            lines.append(f' {json.dumps(key)}: [\n{rows}\n ],')
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, separators=(',', ':'))},")
    lines[-1] = lines[-1].rstrip(",")
    return "\n".join(lines) + "\n}\n"


def _fail(message):
    """Exits as taxon does when it cannot do the job: the message on stderr, status 2."""
    print(f"dump_model.py: {message}", file=sys.stderr)
    raise SystemExit(2)


def _build(factory, kwargs):
    module_name, _, attribute = factory.partition(":")
    if not attribute:
        _fail(f"{factory!r} is not MODULE:CALLABLE (e.g. torchvision.models:resnet18)")
    try:
        callable_ = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        _fail(f"cannot find {factory}: {error}")
    try:
        built = callable_(**kwargs)
    except TypeError as error:  # most often keyword arguments the factory does not take
        _fail(f"{factory}(**{json.dumps(kwargs)}) failed: {error}")
    except Exception as error:  # the model's own code failed: say what and where, not a traceback
        _fail(f"building {factory} failed: {type(error).__name__}: {error}")
    if not isinstance(built, torch.nn.Module):
        _fail(f"{factory} returned {type(built).__name__}, not a torch.nn.Module")
    return built


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Write a taxon model dump (model-dump/1) of a torch.nn.Module.",
        epilog="Then: taxon lint RULES --dump OUT.json; taxon eval RULES --dump OUT.json "
               "(or, without a file: python3 tools/dump_model.py ... | taxon eval RULES --dump -)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("factory", nargs="?", help="MODULE:CALLABLE that returns the model (imported from sys.path and .)")
    source.add_argument("--torchscript", metavar="FILE", help="a TorchScript module saved with torch.jit.save")
    parser.add_argument("--kwargs", default="{}", metavar="JSON",
                        help='keyword arguments for the factory, as a JSON object: \'{"depth": 12}\'')
    parser.add_argument("--name", help="the dump's model name (default: the model's class)")
    parser.add_argument("-o", "--output", default="-", help="output file (default: stdout)")
    args = parser.parse_args(argv)
    sys.path.insert(0, ".")
    if args.torchscript:
        model = torch.jit.load(args.torchscript, map_location="cpu")
    else:
        try:
            kwargs = json.loads(args.kwargs)
        except json.JSONDecodeError as error:
            _fail(f"--kwargs is not JSON ({error}); write an object, e.g. "
                             "--kwargs '{\"depth\": 12}'")
        if not isinstance(kwargs, dict):
            _fail(f"--kwargs must be a JSON object of keyword arguments, not {args.kwargs}")
        model = _build(args.factory, kwargs)
    dump = model_dump(model, name=args.name)
    text = _to_json(dump)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as out:
            out.write(text)
        print(f"{args.output}: {len(dump['tensors'])} tensors of {dump['model']}", file=sys.stderr)


if __name__ == "__main__":
    main()
