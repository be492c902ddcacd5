"""User classes that checkpoints from the wild carry: what taxon must hold as opaque records.

taxon never imports this module; torch.load does (the tests put this folder on sys.path), to
compare what `taxon apply --keep-objects` writes back with the objects that were saved. Both
classes pickle as GLOBAL `wildclasses.X`, EMPTY_TUPLE, NEWOBJ, then BUILD with their __dict__.
"""
import torch


class IndexCollection:
    """Like anemoi's IndexCollection (anemoi.models.data_indices.collection): variable names to
    column indices, the forcing/diagnostic/prognostic split, and index tensors built from them."""

    def __init__(self, name_to_index, forcing, diagnostic):
        self.name_to_index = dict(name_to_index)
        self.forcing = list(forcing)
        self.diagnostic = list(diagnostic)
        self.prognostic = [n for n in self.name_to_index if n not in self.forcing and n not in self.diagnostic]
        self.full = torch.tensor(sorted(self.name_to_index.values()), dtype=torch.int64)
        self.prognostic_index = torch.tensor([self.name_to_index[n] for n in self.prognostic], dtype=torch.int64)

    def __eq__(self, other):
        return (type(other) is IndexCollection and self.name_to_index == other.name_to_index
                and self.forcing == other.forcing and self.diagnostic == other.diagnostic
                and self.prognostic == other.prognostic and torch.equal(self.full, other.full)
                and torch.equal(self.prognostic_index, other.prognostic_index))

    def __repr__(self):
        return f"IndexCollection({self.name_to_index!r})"


class EMACallback:
    """A training callback saved whole into a checkpoint: an exponential moving average of one
    tensor, its decay and how many updates it has seen."""

    def __init__(self, decay, shadow, updates):
        self.decay = decay
        self.shadow = shadow
        self.updates = updates

    def __eq__(self, other):
        return (type(other) is EMACallback and self.decay == other.decay and self.updates == other.updates
                and self.shadow.dtype == other.shadow.dtype and torch.equal(self.shadow, other.shadow))

    def __repr__(self):
        return f"EMACallback(decay={self.decay}, updates={self.updates})"
