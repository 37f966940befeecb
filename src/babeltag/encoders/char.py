"""Character encoders: the characters of each unique word of a batch -> one vector per word.

All take ``(char_ids [U, L], char_lengths [U])`` and return ``[U, output_dim]``;
:class:`CharacterFeatures` then places those vectors at the word positions ``[B, T, D]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from babeltag.encoders.dropout import LockedDropout
from babeltag.encoders.rnn import BiRNNLayer


class CharCNN(nn.Module):
    """Convolutions of several widths over character embeddings, max-pooled over the word
    (Kim et al. 2016; Lin et al. 2018 use 20 filters per width)."""

    def __init__(
        self, num_chars: int, char_dim: int, widths: Sequence[int], filters: int | Sequence[int]
    ) -> None:
        super().__init__()
        counts = [filters] * len(widths) if isinstance(filters, int) else list(filters)
        if len(counts) != len(widths):
            raise ValueError("give one filter count, or one per width")
        self.input_dim = num_chars
        self.output_dim = sum(counts)
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(char_dim, n, kernel_size=w, padding=w // 2) for w, n in zip(widths, counts, strict=True)
        )

    def forward(self, char_ids: torch.Tensor, char_lengths: torch.Tensor) -> torch.Tensor:
        L = char_ids.shape[1]
        valid = torch.arange(L, device=char_ids.device)[None, :] < char_lengths[:, None]  # [U, L]
        # zero past the word's end, so a window at the edge sees the same zero padding as the word alone
        x = (self.embedding(char_ids) * valid.unsqueeze(2)).transpose(1, 2)  # [U, C, L]
        pooled = []
        for convolution in self.convolutions:
            y = convolution(x)[:, :, :L]  # even widths produce one extra step
            # window positions past the word's end must not win the max
            pooled.append(y.masked_fill(~valid[:, None, :], float("-inf")).amax(dim=2))
        return torch.cat(pooled, dim=1)


class CharBiRNN(nn.Module):
    """Bidirectional LSTM/GRU over characters (Plank et al. 2016, Kim et al. 2017, Yang et al. 2016).

    The word vector is the concatenation of the last layer's final forward and backward states.
    """

    def __init__(
        self,
        num_chars: int,
        char_dim: int,
        hidden_dim: int,
        layers: int = 1,
        cell: str = "lstm",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_dim = num_chars
        self.output_dim = 2 * hidden_dim
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        dims = [char_dim] + [2 * hidden_dim] * (layers - 1)
        self.layers = nn.ModuleList(BiRNNLayer(cell, d, hidden_dim) for d in dims)
        self.between_layers = LockedDropout(dropout)

    def forward(self, char_ids: torch.Tensor, char_lengths: torch.Tensor) -> torch.Tensor:
        x = self.embedding(char_ids)
        final = x.new_zeros(x.shape[0], self.output_dim)
        for i, layer in enumerate(self.layers):
            if i > 0:
                x = self.between_layers(x)
            x, final = layer(x, char_lengths)
        return final


class Highway(nn.Module):
    """y = t * f(W x) + (1 - t) * x, t = sigmoid(W_t x) (Srivastava et al. 2015), n layers."""

    ACTIVATIONS = {"relu": nn.ReLU, "selu": nn.SELU, "tanh": nn.Tanh, "gelu": nn.GELU}

    def __init__(self, dim: int, layers: int = 1, activation: str = "relu") -> None:
        super().__init__()
        if activation not in self.ACTIVATIONS:
            raise ValueError(
                f"unknown highway activation {activation!r}; expected one of {sorted(self.ACTIVATIONS)}"
            )
        self.input_dim = self.output_dim = dim
        transforms = [nn.Linear(dim, dim) for _ in range(layers)]
        gates = [nn.Linear(dim, dim) for _ in range(layers)]
        for gate in gates:  # start by carrying the input through (gate bias -2 -> t ~ 0.12)
            nn.init.constant_(gate.bias, -2.0)
        self.transforms = nn.ModuleList(transforms)
        self.gates = nn.ModuleList(gates)
        self.activation = self.ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for transform, gate in zip(self.transforms, self.gates, strict=True):
            t = torch.sigmoid(gate(x))
            x = t * self.activation(transform(x)) + (1.0 - t) * x
        return x


class CharacterFeatures(nn.Module):
    """A character encoder (optionally followed by highway layers) placed at word positions."""

    def __init__(self, encoder: CharCNN | CharBiRNN, highway: Highway | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.highway = highway
        self.output_dim = encoder.output_dim

    def forward(
        self, char_ids: torch.Tensor, char_lengths: torch.Tensor, word_types: torch.Tensor
    ) -> torch.Tensor:
        per_type = self.encoder(char_ids, char_lengths)  # [U, D], computed once per unique word
        if self.highway is not None:
            per_type = self.highway(per_type)
        return per_type[word_types]  # [B, T, D]
