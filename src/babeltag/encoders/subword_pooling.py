"""Subword states ``[B, S, D]`` -> word states ``[B, T, D]``, so word-level heads work unchanged.

A word cut into pieces gets the state of its first piece (BERT's choice for NER), its last piece
(the one that has read the whole word in a left-to-right sense) or the mean of all its pieces.
``word_index`` (from ``WordPieces.encode_words``, padded with -1) says which word each piece is part
of; special tokens and padding carry -1 and belong to no word.
"""

from __future__ import annotations

import torch

POOLINGS = ("first", "last", "mean")


def pool_subwords(
    states: torch.Tensor, word_index: torch.Tensor, num_words: int, pooling: str = "first"
) -> torch.Tensor:
    """Word vectors ``[B, num_words, D]``; a word position with no piece (padding) is all zeros."""
    if pooling not in POOLINGS:
        raise ValueError(f"subword pooling must be one of {POOLINGS}, got {pooling!r}")
    B, S, D = states.shape
    # pieces of no word go to an extra slot T that is dropped at the end
    slot = torch.where(word_index >= 0, word_index, torch.full_like(word_index, num_words))
    if pooling == "mean":
        sums = states.new_zeros(B, num_words + 1, D).scatter_add_(
            1, slot.unsqueeze(-1).expand(B, S, D), states
        )
        counts = states.new_zeros(B, num_words + 1).scatter_add_(1, slot, torch.ones_like(states[..., 0]))
        return (sums / counts.clamp(min=1.0).unsqueeze(-1))[:, :num_words]
    # first / last: the position of the word's first (smallest) or last (largest) piece, then gather
    positions = torch.arange(S, device=states.device).expand(B, S)
    if pooling == "first":
        fill, reduce = S, "amin"
    else:
        fill, reduce = -1, "amax"
    piece = torch.full((B, num_words + 1), fill, dtype=torch.long, device=states.device)
    piece = piece.scatter_reduce(1, slot, positions, reduce=reduce)[:, :num_words]
    present = (piece >= 0) & (piece < S)
    gathered = states.gather(1, piece.clamp(0, S - 1).unsqueeze(-1).expand(B, num_words, D))
    return gathered * present.unsqueeze(-1).to(states.dtype)
