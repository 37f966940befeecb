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
from babeltag.objectives.adversarial import LanguageAdversary, lambda_schedule, language_loss
from babeltag.objectives.language_model import BiLMObjective
from babeltag.objectives.mixture_of_experts import MixtureOfExperts


class MultiTaskModel(nn.Module):
    """``adversary`` and ``language_models`` (by dataset; datasets with one word table share one)
    are extra objectives on each dataset's word-encoder states; they must be among ``parts`` (so
    they are trained and saved)."""

    #: an update trains only the parts of the datasets in its batch (data-parallel training must
    #: expect parameters without gradients)
    partial_updates = True

    def __init__(
        self,
        parts: Mapping[str, nn.Module],
        views: Mapping[str, TaskModel],
        adversary: LanguageAdversary | None = None,
        language_models: Mapping[str, BiLMObjective] | None = None,
        adversary_schedule: tuple[str, float] = ("constant", 1.0),
    ) -> None:
        super().__init__()
        self.parts = nn.ModuleDict(dict(parts))
        registered_parts = {id(part) for part in self.parts.values()}
        for objective in [adversary, *(language_models or {}).values()]:
            if objective is not None and id(objective) not in registered_parts:
                raise ValueError("an objective must be one of the parts")
        self.adversary = adversary
        self.language_models = dict(language_models or {})
        self.adversary_schedule = adversary_schedule
        self.critic: AdversaryCritic | None = None
        # a plain dict: the views hold the same parts, and registering them would save those twice
        self.views: dict[str, TaskModel] = dict(views)
        registered = {id(p) for p in self.parameters()}
        for name, view in self.views.items():
            stray = [n for n, p in view.named_parameters() if id(p) not in registered]
            if stray:
                raise ValueError(f"dataset {name}: parameters not in any shared part: {stray[:3]}")

    def train_discriminator_separately(self, steps: int, lr: float, clip: float = 0.01) -> None:
        """MAN-style: the discriminator gets its own optimiser and ``steps`` updates per main update
        (run by the Trainer through ``self.critic``); the main update leaves it alone."""
        if self.adversary is None:
            raise ValueError("no adversary to train separately")
        self.critic = AdversaryCritic(self, steps, lr, clip)

    def train(self, mode: bool = True) -> MultiTaskModel:
        super().train(mode)
        for view in self.views.values():  # their dropout modules are not among the parts
            view.train(mode)
        return self

    def set_progress(self, progress: float) -> None:
        """The share of training done, in [0, 1]: sets the gradient-reversal scale lambda."""
        if self.adversary is not None:
            kind, maximum = self.adversary_schedule
            self.adversary.reversal.scale = lambda_schedule(kind, progress, maximum)

    def forward(self, step: Sequence[tuple[str, Batch]]) -> dict[str, torch.Tensor]:
        """Losses by name for one update's batches (one dataset, or several when mixed): each
        dataset's task loss under its own name, plus ``adversarial`` and ``bilm`` when configured.
        A batch without labels (unlabelled text of a dataset's language) adds to the objectives only."""
        losses: dict[str, torch.Tensor] = {}

        def add(name: str, loss: torch.Tensor) -> None:
            losses[name] = losses[name] + loss if name in losses else loss

        for name, batch in step:
            view = self.views[name]
            states, shared = view.encode_with_shared(batch)
            if batch.label_ids is not None:  # unlabelled text trains the objectives below only
                add(name, view.head.loss(states, batch.label_ids, batch.mask))
            if self.adversary is not None:  # on what the shared encoder computed
                add("adversarial", self.adversary(shared, batch.mask, view.language))
            for gated in (view.word_encoder, getattr(view.head, "projection", None)):
                moe = getattr(gated, "experts", None)
                gate = getattr(gated, "gate", None)
                if isinstance(moe, MixtureOfExperts) and gate is not None:  # MAN-MoE's gate loss
                    # a head may have scored the real tokens only: its gate rows are those tokens
                    mask = batch.mask if gate.shape[:-1] == batch.mask.shape else None
                    add("gate", moe.gate_loss(gate, mask, view.language))
            language_model = self.language_models.get(name)
            if language_model is not None:
                add("bilm", language_model(states, batch.word_ids, batch.mask))
        return losses

    def learning_rates(self) -> dict[int, float]:
        """Parameters (by id) with a learning rate of their own, from every dataset's view."""
        return {key: lr for view in self.views.values() for key, lr in view.learning_rates().items()}

    def part_names_of(self, dataset: str) -> list[str]:
        """The names of the parts a dataset's model uses (for logs and tests)."""
        used = {id(p) for p in self.views[dataset].parameters()}
        return [name for name, part in self.parts.items() if any(id(p) in used for p in part.parameters())]


class AdversaryCritic:
    """The discriminator's own training (MAN): its loss on the shared states of some batches, with
    no gradient reaching the encoder. The Trainer runs ``steps`` Adam updates of ``parameters()``
    on it before each main update, and keeps these parameters out of the main optimiser."""

    def __init__(self, model: MultiTaskModel, steps: int, lr: float, clip: float = 0.01) -> None:
        assert model.adversary is not None
        self.model = model
        self.discriminator = model.adversary.discriminator
        self.kind = model.adversary.loss
        self.steps = steps
        self.lr = lr
        self.clip = clip

    def parameters(self) -> list[nn.Parameter]:
        return list(self.discriminator.parameters())

    def loss(self, batches: Sequence[tuple[str, Batch]]) -> torch.Tensor:
        losses = []
        for name, batch in batches:
            view = self.model.views[name]
            with torch.no_grad():
                shared = view.encode_shared(batch)
            logits = self.discriminator(shared, batch.mask)
            language = self.discriminator.languages.index(view.language)
            losses.append(language_loss(logits, language, self.kind))
        return torch.stack(losses).mean()

    def after_step(self) -> None:
        """After each critic update: a Wasserstein critic's weights are clipped back into range."""
        if self.kind == "wasserstein":
            self.discriminator.clip_weights(self.clip)
