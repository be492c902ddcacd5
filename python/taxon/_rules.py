"""taxon.load_rules and taxon.Rules: rule files evaluated against live models."""
import json
import os

from ._errors import RulesError
from ._native import engine
from . import _describe


def _parameters(params):
    # The language reads each value (`0.75`, `[0.9, 0.999]`); Python values are written as it reads them.
    out = []
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value)
        out.append((str(key), text))
    return out


def _looks_like_text(path_or_text):
    # Rule text has a line break or a brace (`group x { }`), or a YAML colon; a path has neither.
    if "\n" in path_or_text or "{" in path_or_text:
        return True
    return ":" in path_or_text and not os.path.exists(path_or_text)


def load_rules(path_or_text, params=None, name=None):
    """Rules from a file (.tx, linnaeus or anemoi YAML), a stdlib preset ("timm/layer_decay") or
    text. `params` sets the file's parameters (`param decay = 0.75`): {"decay": 0.65}. `name`
    names text for messages, and its suffix picks the front end ("rules.yaml"); text is taxon's
    language by default. Raises RulesError when the rules do not read."""
    parameters = _parameters(params)
    if isinstance(path_or_text, os.PathLike):
        path_or_text = os.fspath(path_or_text)
    if name is not None or _looks_like_text(path_or_text):
        native = engine.Rules.parse(path_or_text, name or "<text>.tx", parameters)
    else:
        native = engine.Rules.load(path_or_text, parameters)
    if not native.ok:
        raise RulesError(native.findings())
    return Rules(native)


# linnaeus's option keys, as torch.optim names them (linnaeus's optimizers/build.py reads these).
_LINNAEUS_KEYS = {"WEIGHT_DECAY": "weight_decay", "LR_MULTIPLIER": "lr_mult", "OPTIMIZER": "optimizer"}


def _options(settings):
    return {_LINNAEUS_KEYS.get(key, key): _value(value) for key, value in settings}


def _value(text):
    # Options as the rules wrote them: numbers, booleans, lists and strings become Python's.
    try:
        return json.loads(text)
    except ValueError:
        return text


def model_of(model):
    """The engine's view of a torch.nn.Module (or a dump dict, or a dump file's path)."""
    return _model_and_tensors(model)[0]


def _live(model, what):
    # (the engine's model, the live tensors in its row order, their names): a torch.nn.Module only.
    native, tensors, names = _model_and_tensors(model)
    if tensors is None:
        raise TypeError(f"{what} works on the torch.nn.Module itself, not a dump: its tensors are what it returns")
    return native, tensors, names


def _model_and_tensors(model):
    # (the engine's model, the live tensors in its row order and their names; None for a dump)
    if isinstance(model, engine.Model):
        return model, None, None
    if isinstance(model, (str, os.PathLike)):
        return engine.Model.from_dump(os.fspath(model)), None, None
    if isinstance(model, dict):
        tensors = [(t["name"], list(t["shape"]), t.get("dtype", "float32"), t.get("kind", "parameter"),
                    t.get("module", ""), t.get("module_type", ""), bool(t.get("requires_grad", True)),
                    bool(t.get("persistent", True)), t.get("tied_to")) for t in model["tensors"]]
        modules = [(m["name"], m["type"], list(m.get("mro", [])), m.get("alias_of")) for m in model.get("modules", [])]
        return engine.Model.from_rows(tensors, modules, model.get("model", "model")), None, None
    tensors, modules, objects = _describe.walk(model)
    return engine.Model.from_rows(tensors, modules, type(model).__name__), objects, [row[0] for row in tensors]


def _parameter_type():
    import torch

    return torch.nn.Parameter


class Rules:
    """Rules read once, evaluated against any number of models."""

    def __init__(self, native):
        self._native = native

    @property
    def findings(self):
        """The warnings and notes found while reading (dicts: code, level, message, hint, file, line,
        column, rendered)."""
        return self._native.findings()

    @property
    def plans(self):
        """The names of the `plan` blocks."""
        return self._native.plans()

    def evaluate(self, model):
        """What `taxon eval --format json` gives (docs/eval-json.md), as Python objects."""
        return json.loads(engine.evaluate_json(self._native, model_of(model)))

    def param_groups(self, model, lr=None, **defaults):
        """Parameter groups ready for any torch.optim optimizer: one dict per group with `params`
        (the tensors, in the model's order), `name`, the group's options, and `lr` = lr * lr_mult
        (and * lr_scale, timm's name) where an lr is known: the group's own, else the argument.
        A group whose options differ per tensor (layer decay) is split into one group per distinct
        set, named GROUP/0, GROUP/1, ... Frozen parameters are left out. `defaults` fill options
        a group does not set. linnaeus's keys become torch's: WEIGHT_DECAY -> weight_decay,
        LR_MULTIPLIER -> lr_mult, OPTIMIZER -> optimizer. Raises ValueError when rules in overlap
        mode give a parameter to two groups."""
        native, tensors, names = _live(model, "param_groups")
        groups = []
        owner = {}
        for name, options, parts in engine.evaluation_parts(self._native, native)["groups"]:
            options = _options(options)
            for number, (own, rows) in enumerate(parts):
                for row in rows:
                    if owner.setdefault(row, name) != name:
                        raise ValueError(
                            f"{names[row]} is in the groups {owner[row]} and {name}: an optimizer takes each parameter "
                            "once. Make the groups' filters disjoint, or let the first matching group take it "
                            "(the taxon language's default; `taxon eval` lists every overlap)")
                from_rules = dict(options)
                from_rules.update(_options(own))
                merged = dict(defaults)
                merged.update(from_rules)
                base = from_rules.get("lr", lr)
                if base is not None:  # taxon's and linnaeus's lr_mult, timm's lr_scale
                    merged["lr"] = base * merged.get("lr_mult", 1.0) * merged.get("lr_scale", 1.0)
                merged["name"] = name if len(parts) == 1 else f"{name}/{number}"
                merged["params"] = [tensors[row] for row in rows]
                groups.append(merged)
        return groups

    def _selections(self, model, what):
        native, tensors, names = _live(model, what)
        return engine.evaluation_parts(self._native, native)["selections"], tensors, names

    def freeze(self, model):
        """Sets requires_grad = False on every parameter a `freeze` rule selects; returns their names."""
        selections, tensors, names = self._selections(model, "freeze")
        frozen, seen = [], set()
        for _, freezes, rows in selections:
            if freezes:
                for row in rows:
                    if row not in seen and isinstance(tensors[row], _parameter_type()):
                        seen.add(row)
                        tensors[row].requires_grad_(False)
                        frozen.append(names[row])
        return frozen

    def select(self, model, name):
        """The tensors the selection `name` picks, {tensor name: tensor}, in the model's order."""
        selections, tensors, names = self._selections(model, "select")
        for selection, _, rows in selections:
            if selection == name:
                return {names[row]: tensors[row] for row in rows}
        known = ", ".join(s[0] for s in selections) or "none"
        raise KeyError(f"no selection {name!r} in these rules (they have: {known})")

    def explain(self, model, tensor_name):
        """Why one tensor lands where it does: a dict with `joined` (its groups), `groups` (each
        group's verdict), `trainable` and `text` (what `taxon explain` prints)."""
        return engine.explain(self._native, model_of(model), tensor_name)

    def lint(self, model=None):
        """Findings about the rules, alone or against the model(s): dicts as `findings`."""
        models = [] if model is None else [model_of(m) for m in (model if isinstance(model, (list, tuple)) else [model])]
        return engine.lint(self._native, models)
