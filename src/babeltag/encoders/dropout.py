"""Variational ("locked") dropout: one mask per sentence, reused at every time step (Gal & Ghahramani)."""

from __future__ import annotations

import torch
from torch import nn


class LockedDropout(nn.Module):
    """Drops the same feature dimensions at all time steps of a sequence; input ``[B, T, D]``."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1.0 - self.p)
        return x * keep / (1.0 - self.p)
