"""A model for one (task, language): the parts of the network, wired in one visible place.

    tokens ─┬─ word embedding ──────────────┐
            ├─ characters ─ char encoder ───┼─ concat ─ dropout ─ word encoder ─ dropout ─ head ─ labels
            └─ pieces ─ transformer ─ pool ─┘   (each feature part optional)

Each part is passed in, so sharing a part between models is passing the same instance.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn

from babeltag.data.batching import Batch
from babeltag.encoders.char import CharacterFeatures
from babeltag.encoders.dropout import LockedDropout
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.subword_features import SubwordFeatures


class Head(Protocol):
    """Vectors -> labels and a loss: softmax, CRF and classifier heads all look like this."""

    input_dim: int
    num_labels: int

    def loss(self, features: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...

    def decode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


class WordEncoder(Protocol):
    input_dim: int
    output_dim: int

    def __call__(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


class TaskModel(nn.Module):
    """Word + character features -> word encoder -> head, for one task in one language."""

    def __init__(
        self,
        task: str,
        language: str,
        word_embedding: WordEmbedding | None,
        char_features: CharacterFeatures | None,
        word_encoder: WordEncoder,
        head: Head,
        dropout: float,
        dropout_kind: str = "variational",
        input_dropout: float | None = None,
        subword_features: SubwordFeatures | None = None,
        encoder_lr: float | None = None,
    ) -> None:
        super().__init__()
        if word_embedding is None and char_features is None and subword_features is None:
            raise ValueError("a model needs word embeddings, a character encoder or a subword encoder")
        self.task = task
        self.language = language
        self.word_embedding = word_embedding
        self.char_features = char_features
        self.subword_features = subword_features
        self.encoder_lr = encoder_lr  # a pretrained transformer is fine-tuned gently
        self.word_encoder = word_encoder
        self.head = head
        kind = LockedDropout if dropout_kind == "variational" else nn.Dropout
        self.dropout: nn.Module = kind(dropout)  # on the word encoder's output
        self.input_dropout: nn.Module = kind(dropout if input_dropout is None else input_dropout)
        features_dim = sum(
            part.output_dim for part in (word_embedding, char_features, subword_features) if part is not None
        )
        if features_dim != word_encoder.input_dim:
            raise ValueError(
                f"word encoder expects {word_encoder.input_dim} inputs, features give {features_dim}"
            )
        if word_encoder.output_dim != head.input_dim:
            raise ValueError(
                f"head expects {head.input_dim} inputs, the word encoder gives {word_encoder.output_dim}"
            )

    def learning_rates(self) -> dict[int, float]:
        """Parameters (by id) that train with their own learning rate, not the optimiser's."""
        if self.subword_features is None or self.encoder_lr is None:
            return {}
        return {id(p): self.encoder_lr for p in self.subword_features.encoder.parameters()}

    def features(self, batch: Batch) -> torch.Tensor:
        """Word and character features ``[B, T, F]``, after input dropout."""
        features = []
        if self.word_embedding is not None:
            features.append(self.word_embedding(batch.word_ids))
        if self.char_features is not None:
            features.append(self.char_features(batch.char_ids, batch.char_lengths, batch.word_types))
        if self.subword_features is not None:
            features.append(self.subword_features(batch))
        x = features[0] if len(features) == 1 else torch.cat(features, dim=-1)
        return self.input_dropout(x)

    def encode(self, batch: Batch) -> torch.Tensor:
        """Contextual token states ``[B, T, D]`` (after output dropout)."""
        return self.dropout(self.word_encoder(self.features(batch), batch.mask))

    def encode_with_shared(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The states, and the part of them that a shared encoder computed (what a language
        adversary looks at): an encoder with ``forward_with_shared`` (common + private encoders,
        Kim et al. 2017; shared + mixture-of-experts features, Chen et al. 2019) says which;
        otherwise the states themselves."""
        x = self.features(batch)
        split = getattr(self.word_encoder, "forward_with_shared", None)
        if split is None:
            states = self.dropout(self.word_encoder(x, batch.mask))
            return states, states
        states, shared = split(x, batch.mask)
        return self.dropout(states), self.dropout(shared)

    def encode_shared(self, batch: Batch) -> torch.Tensor:
        """The shared part of the states alone (what a separately trained adversary reads), without
        running what it does not need: an encoder with ``shared_states`` computes just those (no
        private encoder, no experts); otherwise the states themselves."""
        x = self.features(batch)
        shared_only = getattr(self.word_encoder, "shared_states", None)
        return self.dropout(
            shared_only(x, batch.mask) if shared_only is not None else self.word_encoder(x, batch.mask)
        )

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Losses by name (here just the task's own) for the trainer to weight and log."""
        assert batch.label_ids is not None, "training batches need labels"
        return {self.task: self.head.loss(self.encode(batch), batch.label_ids, batch.mask)}

    @torch.inference_mode()
    def predict(self, batch: Batch) -> torch.Tensor:
        """Label ids: ``[B, T]`` for tagging, ``[B]`` for classification."""
        return self.head.decode(self.encode(batch), batch.mask)
