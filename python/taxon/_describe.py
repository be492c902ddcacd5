"""taxon.describe(model): the model as taxon sees it (model-dump/1, docs/model-dump.md).

Only shapes, dtypes, module classes and flags are read, never values: a model on the meta device
describes without allocating its weights."""

FORMAT = "model-dump/1"


def _type_name(module):
    # A TorchScript module's class is RecursiveScriptModule; the class it was scripted from is in
    # `original_name`.
    return getattr(module, "original_name", None) or type(module).__name__


def _ancestry(module, torch):
    # isinstance() answers for every class in __mro__; torch.nn.Module and object are shared by every
    # module and say nothing. A scripted module's classes are TorchScript's own: no ancestry then.
    if isinstance(module, torch.jit.ScriptModule):
        return []
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(module).__mro__
            if cls is not torch.nn.Module and cls is not object]


def _storage_key(tensor):
    # Tensors that view the same bytes the same way are one tensor under two names (a tie).
    if tensor.device.type == "meta" or tensor.numel() == 0:
        return ("object", id(tensor))
    return ("view", tensor.data_ptr(), tuple(tensor.shape), tuple(tensor.stride()), tensor.dtype)


def rows(model):
    """(tensors, modules): one tuple per tensor (name, shape, dtype, kind, module, module_type,
    requires_grad, persistent, tied_to) in named_parameters(), then named_buffers() order, ties
    included; one per module (path, class, ancestry)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"taxon describes a torch.nn.Module, not {type(model).__name__}")
    modules = list(model.named_modules(remove_duplicate=False))
    ancestry_of_class = {}
    module_rows = []
    type_names = []
    for path, module in modules:
        name = _type_name(module)
        key = type(module)
        if key not in ancestry_of_class:
            ancestry_of_class[key] = _ancestry(module, torch)
        module_rows.append((path, name, ancestry_of_class[key]))
        type_names.append(name)
    tensors = []
    first_name = {}
    for kind, attribute in (("parameter", "_parameters"), ("buffer", "_buffers")):
        for (path, module), type_name in zip(modules, type_names):
            items = getattr(module, attribute).items()
            if not items:
                continue
            non_persistent = getattr(module, "_non_persistent_buffers_set", ())
            prefix = path + "." if path else ""
            for leaf, tensor in items:
                if tensor is None:
                    continue
                full = prefix + leaf
                key = _storage_key(tensor)
                tied_to = first_name.get(key)
                if tied_to is None:
                    first_name[key] = full
                tensors.append((full, list(tensor.shape), str(tensor.dtype)[6:], kind, path, type_name,
                                bool(tensor.requires_grad) if kind == "parameter" else True,
                                leaf not in non_persistent, tied_to))
    return tensors, module_rows


def describe(model, name=None, stages=None):
    """The model dump as a dict: what `taxon eval`, `lint` and `explain` read with --dump
    (docs/model-dump.md). `stages`: linnaeus's stage map ({stage: [name patterns]})."""
    tensors, modules = rows(model)
    dump = {
        "format": FORMAT,
        "model": name or _type_name(model),
        "modules": [{"name": path, "type": type_name, **({"mro": mro} if mro else {})}
                    for path, type_name, mro in modules],
        "tensors": [],
    }
    for full, shape, dtype, kind, path, type_name, requires_grad, persistent, tied_to in tensors:
        entry = {"name": full, "shape": shape, "dtype": dtype, "kind": kind, "module": path, "module_type": type_name}
        if kind == "parameter":
            entry["requires_grad"] = requires_grad
        elif not persistent:
            entry["persistent"] = False
        if tied_to is not None:
            entry["tied_to"] = tied_to
        dump["tensors"].append(entry)
    if stages:
        dump["parameter_groups_metadata"] = {"stages": {str(k): list(v) for k, v in stages.items()}}
    return dump
