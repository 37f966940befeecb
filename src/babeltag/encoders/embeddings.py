"""Word embeddings: ids ``[B, T]`` -> vectors ``[B, T, D]``, random (Xavier) or pretrained."""

from __future__ import annotations

import torch
from torch import nn


class WordEmbedding(nn.Module):
    """A lookup table; row 0 (<pad>) is all zeros. ``pretrained`` rows overwrite the random init."""

    def __init__(
        self,
        vocab_size: int,
        dim: int,
        freeze: bool = False,
        pretrained: torch.Tensor | None = None,
        pretrained_rows: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        self.input_dim = vocab_size
        self.output_dim = dim
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        nn.init.xavier_uniform_(self.embedding.weight)
        with torch.no_grad():
            if pretrained is not None:
                if pretrained.shape[1] != dim:
                    raise ValueError(
                        f"pretrained vectors have dimension {pretrained.shape[1]}, the model {dim}"
                    )
                rows = pretrained_rows if pretrained_rows is not None else torch.arange(len(pretrained))
                self.embedding.weight[rows] = pretrained.to(self.embedding.weight.dtype)
            self.embedding.weight[0].zero_()
        self.embedding.weight.requires_grad_(not freeze)

    def forward(self, word_ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(word_ids)
