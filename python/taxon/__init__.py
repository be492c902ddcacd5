"""taxon: declarative rules for PyTorch model parameters and checkpoints, in the process.

    import taxon
    rules = taxon.load_rules("timm/layer_decay", params={"decay": 0.65})
    optimizer = torch.optim.AdamW(rules.param_groups(model, lr=1e-3))
    taxon.load_checkpoint(model, "ckpt.pt", rules="timm/checkpoint", plan="vit")

The manual: docs/python.md. `import taxon` does not import torch; the functions that need it do.
"""
from ._errors import CheckpointError, RulesError, TaxonError
from ._describe import describe
from ._rules import Rules, load_rules
from ._checkpoint import apply, load_checkpoint

__all__ = ["TaxonError", "RulesError", "CheckpointError", "Rules", "load_rules", "describe", "load_checkpoint", "apply"]
