"""Bidirectional language-model loss on encoder states (Kim et al. 2017; Rei 2017).

    states [B, T, 2H] = forward ++ backward
      forward half at t  ─ linear ─ softmax over words ─ the word at t+1 (<eos> after the last)
      backward half at t ─ linear ─ softmax over words ─ the word at t-1 (<bos> before the first)

It needs no labels, so it also trains on unlabelled sentences. The output vocabulary is the
``size`` most frequent words of the language plus <unk>, <bos> and <eos>: a softmax over the full
vocabulary would cost more than the tagger it helps, and rare words teach the encoder little.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: ids of the three special outputs; word i of the restricted vocabulary is output i + 3
UNK, BOS, EOS = 0, 1, 2


class BiLMObjective(nn.Module):
    def __init__(self, state_dim: int, vocab_size: int, output_words: int) -> None:
        """``vocab_size``: the language's word table (ids as in Batch.word_ids, 0 = <pad>, 1 = <unk>);
        ``output_words``: how many of its most frequent words are predicted by name (the word
        tables are ordered most frequent first after the two specials)."""
        super().__init__()
        if state_dim % 2:
            raise ValueError("bi-LM states must be forward ++ backward halves of equal size")
        self.direction_dim = state_dim // 2
        self.output_words = min(output_words, max(vocab_size - 2, 0))
        self.forward_output = nn.Linear(self.direction_dim, self.output_words + 3)
        self.backward_output = nn.Linear(self.direction_dim, self.output_words + 3)

    def targets(self, word_ids: torch.Tensor) -> torch.Tensor:
        """Word-table ids -> output ids: frequent words keep a class of their own, others are <unk>."""
        frequent = (word_ids >= 2) & (word_ids < self.output_words + 2)
        return torch.where(frequent, word_ids + 1, torch.full_like(word_ids, UNK))

    def forward(self, states: torch.Tensor, word_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens of the forward and backward NLLs (summed)."""
        words = self.targets(word_ids)
        lengths = mask.sum(dim=1)
        B, T = word_ids.shape
        positions = torch.arange(T, device=word_ids.device).expand(B, T)
        # next word for the forward direction: shift left, <eos> at each sentence's last position
        following = torch.cat([words[:, 1:], words.new_full((B, 1), EOS)], dim=1)
        following = torch.where(
            positions == (lengths - 1).unsqueeze(1), torch.full_like(words, EOS), following
        )
        # previous word for the backward direction: shift right, <bos> at position 0
        preceding = torch.cat([words.new_full((B, 1), BOS), words[:, :-1]], dim=1)
        real = states[mask]
        forward_loss = F.cross_entropy(self.forward_output(real[:, : self.direction_dim]), following[mask])
        backward_loss = F.cross_entropy(self.backward_output(real[:, self.direction_dim :]), preceding[mask])
        return forward_loss + backward_loss
