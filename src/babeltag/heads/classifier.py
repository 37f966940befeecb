"""Classification head: token states ``[B, T, D]`` -> one sentence vector (pooled) -> a class."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Pooling(nn.Module):
    """Max, mean, or dot-product attention pooling over the real tokens of each sentence.

    Attention scores each state against one learned query vector (the MAN-MoE classifier's
    "dot-product attention"), then averages the states with the softmax of those scores.
    """

    KINDS = ("max", "mean", "attention")

    def __init__(self, dim: int, kind: str = "max") -> None:
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown pooling {kind!r}; expected one of {self.KINDS}")
        self.kind = kind
        self.input_dim = self.output_dim = dim
        self.query = nn.Parameter(torch.randn(dim) / dim**0.5) if kind == "attention" else None

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # a text without tokens (an empty CSV field) pools to the zero vector, not to -inf or NaN,
        # so one such line in a corpus cannot poison a batch's loss
        empty = ~mask.any(dim=1, keepdim=True)  # [B, 1]
        if self.kind == "max":
            pooled = states.masked_fill(~mask.unsqueeze(2), float("-inf")).amax(dim=1)
            return pooled.masked_fill(empty, 0.0)
        if self.kind == "mean":
            summed = (states * mask.unsqueeze(2)).sum(dim=1)
            return summed / mask.sum(dim=1, keepdim=True).clamp(min=1)
        assert self.query is not None
        scores = (states @ self.query).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores.masked_fill(empty, 0.0), dim=1) * mask
        return (weights.unsqueeze(2) * states).sum(dim=1)


class ClassifierHead(nn.Module):
    """Pool, then a small MLP (optional hidden layer) and a softmax over classes.

    ``projection`` (any module mapping the pooled vector, or the hidden layer's output, to class
    scores) replaces the last linear layer: e.g. MAN-MoE's mixture of source-language experts,
    gated per sentence. It is then also the head's ``projection``, where the gate loss and the gate
    analyses look for experts, as on a tagger's head.
    """

    def __init__(
        self,
        input_dim: int,
        num_labels: int,
        pooling: str = "max",
        hidden_dim: int = 0,
        dropout: float = 0.0,
        projection: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.num_labels = num_labels
        self.pool = Pooling(input_dim, pooling)
        layers: list[nn.Module] = []
        if hidden_dim:
            layers += [nn.Linear(input_dim, hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
        if projection is not None:
            self.projection = projection
        layers.append(
            projection if projection is not None else nn.Linear(hidden_dim or input_dim, num_labels)
        )
        self.classifier = nn.Sequential(*layers)

    def scores(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(features, mask))

    def loss(self, features: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.scores(features, mask), labels)

    def decode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.scores(features, mask).argmax(dim=-1)
