"""Word embeddings: ids ``[B, T]`` -> vectors ``[B, T, D]``, random (Xavier) or pretrained."""

from __future__ import annotations

import torch
from torch import nn


class WordEmbedding(nn.Module):
    """A lookup table; row 0 (<pad>) is all zeros. ``pretrained`` rows overwrite the random init.

    ``unk_dropout`` replaces each real word by <unk> with that probability during training, so the
    <unk> row learns to stand for unseen words (otherwise it keeps its random initial value and
    every out-of-vocabulary word at test time gets noise; Kiperwasser & Goldberg 2016).

    ``sparse`` makes the table's gradient a sparse tensor of the batch's rows, which the trainer
    updates row by row (``training.sparse_rows``).
    """

    def __init__(
        self,
        vocab_size: int,
        dim: int,
        freeze: bool = False,
        pretrained: torch.Tensor | None = None,
        pretrained_rows: torch.Tensor | None = None,
        unk_dropout: float = 0.0,
        unk_id: int = 1,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        if not 0.0 <= unk_dropout < 1.0:
            raise ValueError(f"unk_dropout must be in [0, 1), got {unk_dropout}")
        self.unk_dropout = unk_dropout
        self.unk_id = unk_id
        self.input_dim = vocab_size
        self.output_dim = dim
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0, sparse=sparse)
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
        if self.training and self.unk_dropout > 0.0:
            replace = torch.rand(word_ids.shape, device=word_ids.device) < self.unk_dropout
            word_ids = torch.where(
                replace & (word_ids != 0), torch.full_like(word_ids, self.unk_id), word_ids
            )
        return self.embedding(word_ids)
