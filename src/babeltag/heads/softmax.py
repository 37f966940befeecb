"""Softmax tagging head: states ``[B, T, D]`` -> a label per token, independently."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from babeltag.heads.gated import check_projection


class SoftmaxHead(nn.Module):
    """A linear layer and a per-token softmax. The loss is summed over a sentence's tokens and
    averaged over sentences, the same scale as the CRF's per-sentence negative log-likelihood.

    ``projection`` may be passed in to be shared: any module mapping input_dim -> num_labels (an
    ``nn.Linear`` shared across languages, a ``GatedOutput``); by default the head makes its own.
    """

    def __init__(self, input_dim: int, num_labels: int, *, projection: nn.Module | None = None) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.num_labels = num_labels
        if projection is None:
            projection = nn.Linear(input_dim, num_labels)
        check_projection(projection, input_dim, num_labels, "SoftmaxHead")
        self.projection = projection

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return self.projection(features)

    def loss(self, features: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # project only the real tokens: padding is a sizeable share of a batch and costs as much
        scores = self.projection(features[mask])
        return F.cross_entropy(scores, labels[mask], reduction="sum") / features.shape[0]

    def decode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.projection(features).argmax(dim=-1).masked_fill(~mask, 0)
