"""taxon.describe(model): the model as taxon sees it (model-dump/1, docs/model-dump.md).

Only shapes, dtypes, module classes and flags are read, never values: a model on the meta device
describes without allocating its weights."""

import gc

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


def _modules(model):
    # named_modules(remove_duplicate=False) without its generator recursion: depth first, children
    # in registration order, a module shared under two paths listed under each.
    out = []
    stack = [("", model)]
    while stack:
        path, module = stack.pop()
        out.append((path, module))
        children = [(f"{path}.{leaf}" if path else leaf, child) for leaf, child in module._modules.items() if child is not None]
        stack.extend(reversed(children))
    return out


def walk(model):
    """(tensors, modules, objects): one tuple per tensor (name, shape, dtype, kind, module,
    module_type, requires_grad, persistent, tied_to) in named_parameters(), then named_buffers()
    order, ties included; one per module (path, class, ancestry, the path a shared module was first
    listed under or None); the tensors themselves, in the
    order of the tuples."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"taxon describes a torch.nn.Module, not {type(model).__name__}")
    collecting = gc.isenabled()
    gc.disable()  # a walk makes ~3 objects per tensor; collections mid-walk cost more than the walk
    try:
        return _walk(model, torch)
    finally:
        if collecting:
            gc.enable()


def _walk(model, torch):
    modules = _modules(model)
    class_rows = {}  # class -> (name, ancestry): a scripted module's name is its own
    module_rows = []
    first_path = {}  # id(module) -> the path it is first listed under: get_submodule() reaches it by any
    type_names = []
    script_module = torch.jit.ScriptModule
    for path, module in modules:
        cls = type(module)
        known = class_rows.get(cls)
        if known is None:
            known = (_type_name(module), _ancestry(module, torch))
            if not issubclass(cls, script_module):
                class_rows[cls] = known
        first = first_path.setdefault(id(module), path)
        module_rows.append((path, known[0], known[1], None if first == path else first))
        type_names.append(known[0])
    # One pass over the modules; buffers follow all parameters, as named_buffers() follows
    # named_parameters().
    parameters, parameter_objects, buffers, buffer_objects = [], [], [], []
    first_name = {}
    dtype_names = {}

    def row(full, tensor, kind, path, type_name, requires_grad, persistent):
        # Tensors that view the same bytes the same way are one tensor under two names (a tie).
        # Meta and empty tensors have no bytes: only the same object is a tie.
        dtype = tensor.dtype
        if tensor.is_meta or tensor.numel() == 0:
            key = id(tensor)
        else:
            key = (tensor.data_ptr(), tuple(tensor.shape), tensor.stride(), dtype)
        tied_to = first_name.get(key)
        if tied_to is None:
            first_name[key] = full
        dtype_name = dtype_names.get(dtype)
        if dtype_name is None:
            dtype_name = dtype_names[dtype] = str(dtype)[6:]
        return (full, list(tensor.shape), dtype_name, kind, path, type_name, requires_grad, persistent, tied_to)

    for (path, module), type_name in zip(modules, type_names):
        own_parameters = module._parameters
        own_buffers = module._buffers
        if not own_parameters and not own_buffers:
            continue
        prefix = path + "." if path else ""
        for leaf, tensor in own_parameters.items():
            if tensor is not None:
                parameters.append(row(prefix + leaf, tensor, "parameter", path, type_name, tensor.requires_grad, True))
                parameter_objects.append(tensor)
        if own_buffers:
            non_persistent = getattr(module, "_non_persistent_buffers_set", ())
            for leaf, tensor in own_buffers.items():
                if tensor is not None:
                    buffers.append((prefix + leaf, tensor, path, type_name, leaf not in non_persistent))
                    buffer_objects.append(tensor)
    # Ties are found in named_parameters(), then named_buffers() order: buffers' rows come second.
    parameters.extend(row(full, tensor, "buffer", path, type_name, True, persistent)
                      for full, tensor, path, type_name, persistent in buffers)
    return parameters, module_rows, parameter_objects + buffer_objects


def describe(model, name=None, stages=None):
    """The model dump as a dict: what `taxon eval`, `lint` and `explain` read with --dump
    (docs/model-dump.md). `stages`: linnaeus's stage map ({stage: [name patterns]})."""
    tensors, modules, _ = walk(model)
    dump = {
        "format": FORMAT,
        "model": name or _type_name(model),
        "modules": [{"name": path, "type": type_name, **({"mro": mro} if mro else {}),
                     **({"alias_of": first} if first is not None else {})}
                    for path, type_name, mro, first in modules],
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
