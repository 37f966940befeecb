"""A multi-dataset model: one TaskModel per dataset, built from parts that datasets share.

    dataset ner_nl:  chars[all] ─ words[nl] ─ encoder[all] ─ output[ner] + private[ner_nl] ─ crf[ner]
    dataset ner_en:  chars[all] ─ words[en] ─ encoder[all] ─ output[ner] + private[ner_en] ─ crf[ner]
    dataset pos_nl:  chars[all] ─ words[nl] ─ encoder[all] ─ output[pos] + private[pos_nl] ─ crf[pos]

Each part exists once, under a name that says who shares it (``word_embedding/nl``,
``crf/ner``), and each dataset's model is wired from those instances: a step on ``ner_en``
updates ``encoder/all`` for every dataset, and only ``private/ner_en`` of the private parts.
The parts, not the per-dataset views, are what is registered, trained and saved, so a shared
tensor is stored once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from babeltag.data.batching import Batch
from babeltag.models.model import TaskModel


class MultiTaskModel(nn.Module):
    def __init__(self, parts: Mapping[str, nn.Module], views: Mapping[str, TaskModel]) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(dict(parts))
        # a plain dict: the views hold the same parts, and registering them would save those twice
        self.views: dict[str, TaskModel] = dict(views)
        registered = {id(p) for p in self.parameters()}
        for name, view in self.views.items():
            stray = [n for n, p in view.named_parameters() if id(p) not in registered]
            if stray:
                raise ValueError(f"dataset {name}: parameters not in any shared part: {stray[:3]}")

    def train(self, mode: bool = True) -> MultiTaskModel:
        super().train(mode)
        for view in self.views.values():  # their dropout modules are not among the parts
            view.train(mode)
        return self

    def forward(self, step: Sequence[tuple[str, Batch]]) -> dict[str, torch.Tensor]:
        """Losses by dataset name for one update's batches (one dataset, or several when mixed)."""
        losses: dict[str, torch.Tensor] = {}
        for name, batch in step:
            view = self.views[name]
            loss = view(batch)[view.task]
            losses[name] = losses[name] + loss if name in losses else loss
        return losses

    def part_names_of(self, dataset: str) -> list[str]:
        """The names of the parts a dataset's model uses (for logs and tests)."""
        used = {id(p) for p in self.views[dataset].parameters()}
        return [name for name, part in self.parts.items() if any(id(p) in used for p in part.parameters())]
