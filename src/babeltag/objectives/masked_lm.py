"""Masked language modelling (BERT, Devlin et al. 2019; XLM's MLM and TLM).

Choose ``rate`` of the real pieces to predict; of those, replace 80% by <mask>, 10% by a random
piece and leave 10% as they are (the model cannot tell which inputs are genuine, so it must keep
a useful representation of every piece, not only of <mask>). The loss is cross-entropy on the
chosen pieces only.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

IGNORE = -100  # target of a piece that is not predicted (cross_entropy's ignore_index)


def mask_pieces(
    piece_ids: torch.Tensor,
    maskable: torch.Tensor,
    mask_id: int,
    first_normal_id: int,
    vocab_size: int,
    generator: torch.Generator,
    rate: float = 0.15,
    replace_mask: float = 0.8,
    replace_random: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The corrupted inputs and the targets (``IGNORE`` where nothing is predicted).

    ``maskable`` is False on padding and special tokens. Random replacements are drawn from the
    normal pieces ``[first_normal_id, vocab_size)``, never a special token.
    """
    if not 0.0 < rate <= 1.0 or replace_mask < 0 or replace_random < 0 or replace_mask + replace_random > 1:
        raise ValueError(
            f"masking rates must satisfy 0 < rate <= 1 and mask + random <= 1, got rate={rate}, "
            f"mask={replace_mask}, random={replace_random}"
        )
    device = piece_ids.device
    draw = torch.rand(piece_ids.shape, generator=generator, device=device)
    chosen = (draw < rate) & maskable
    targets = torch.where(chosen, piece_ids, torch.full_like(piece_ids, IGNORE))
    how = torch.rand(piece_ids.shape, generator=generator, device=device)
    to_mask = chosen & (how < replace_mask)
    to_random = chosen & (how >= replace_mask) & (how < replace_mask + replace_random)
    random_pieces = torch.randint(
        first_normal_id, vocab_size, piece_ids.shape, generator=generator, device=device
    )
    inputs = torch.where(to_mask, torch.full_like(piece_ids, mask_id), piece_ids)
    inputs = torch.where(to_random, random_pieces, inputs)
    return inputs, targets


class MaskedLMHead(nn.Module):
    """States ``[B, S, D]`` -> piece scores, decoding with the (tied) input embedding matrix."""

    def __init__(self, piece_embedding: nn.Embedding) -> None:
        super().__init__()
        dim = piece_embedding.embedding_dim
        self.input_dim = dim
        self.transform = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.LayerNorm(dim))
        self.decoder_weight = piece_embedding.weight  # tied: the same Parameter
        self.bias = nn.Parameter(torch.zeros(piece_embedding.num_embeddings))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return F.linear(self.transform(states), self.decoder_weight, self.bias)

    def loss(self, states: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int]:
        """Mean cross-entropy over the predicted pieces, and how many there were. Only the chosen
        positions go through the output layer: scoring every piece against the whole vocabulary
        would cost about 1/rate times more."""
        chosen = targets != IGNORE
        count = int(chosen.sum())
        if count == 0:
            return states.sum() * 0.0, 0
        scores = self(states[chosen])
        return F.cross_entropy(scores, targets[chosen]), count
