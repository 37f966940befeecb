"""Scalar mix of layers (Peters et al. 2018, ELMo): ``gamma * sum_j softmax(w)_j * h_j``.

Different layers of a pretrained encoder suit different tasks (lower ones syntax, upper ones
semantics), so the tagger learns how much of each layer to use instead of taking the last one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class ScalarMix(nn.Module):
    """``num_layers`` tensors ``[B, S, dim]`` -> one weighted sum ``[B, S, dim]``.

    The weights start equal (zeros before the softmax) and gamma starts at 1, so the untrained mix
    is the plain average of the layers.
    """

    def __init__(self, num_layers: int, dim: int) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"a scalar mix needs at least one layer, got num_layers={num_layers}")
        self.num_layers = num_layers
        self.input_dim = dim
        self.output_dim = dim
        self.weights = nn.Parameter(torch.zeros(num_layers))
        # gamma lets the model rescale the mix to what the layers above it expect
        self.gamma = nn.Parameter(torch.ones(()))

    def forward(self, layers: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(layers) != self.num_layers:
            raise ValueError(
                f"this scalar mix was built for {self.num_layers} layers but was given {len(layers)}"
            )
        normalised = torch.softmax(self.weights, dim=0)
        stacked = torch.stack(list(layers))  # [L, B, S, D]
        return self.gamma * torch.einsum("l,lbsd->bsd", normalised, stacked)
