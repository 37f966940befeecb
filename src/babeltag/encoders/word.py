"""Word-level encoders: Batch features ``[B, T, D_in]`` -> contextual states ``[B, T, D_out]``."""

from __future__ import annotations

import torch
from torch import nn

from babeltag.encoders.dropout import LockedDropout
from babeltag.encoders.rnn import BiRNNLayer


class WordBiRNN(nn.Module):
    """n stacked bidirectional LSTM or GRU layers with variational dropout between them.

    Dropout on the encoder's own input and output is left to the model that wires it, so a
    shared encoder can be used with different dropout by different models.
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, layers: int = 1, cell: str = "lstm", dropout: float = 0.0
    ) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError("a word encoder needs at least one layer")
        self.input_dim = input_dim
        self.output_dim = 2 * hidden_dim
        dims = [input_dim] + [2 * hidden_dim] * (layers - 1)
        self.layers = nn.ModuleList(BiRNNLayer(cell, d, hidden_dim) for d in dims)
        self.between_layers = LockedDropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1)
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.between_layers(x)
            x, _ = layer(x, lengths)
        return x


class NoWordEncoder(nn.Module):
    """The features as they are (a transformer's pooled states need no second encoder)."""

    def __init__(self, input_dim: int) -> None:
        super().__init__()
        self.input_dim = self.output_dim = input_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return x
