"""Subword -> word pooling against a slow loop over words."""

from __future__ import annotations

import pytest
import torch

from babeltag.encoders.subword_pooling import pool_subwords


def slow_pool(states: torch.Tensor, word_index: torch.Tensor, num_words: int, pooling: str) -> torch.Tensor:
    B, S, D = states.shape
    out = torch.zeros(B, num_words, D)
    for b in range(B):
        for w in range(num_words):
            pieces = [s for s in range(S) if int(word_index[b, s]) == w]
            if not pieces:
                continue
            if pooling == "first":
                out[b, w] = states[b, pieces[0]]
            elif pooling == "last":
                out[b, w] = states[b, pieces[-1]]
            else:
                out[b, w] = states[b, pieces].mean(0)
    return out


@pytest.mark.parametrize("pooling", ["first", "last", "mean"])
def test_pooling_matches_a_loop_over_words(pooling: str) -> None:
    torch.manual_seed(0)
    # sentence 0: <s> w0 w0 w0 w1 w2 w2 </s>;  sentence 1 (2 words, padded): <s> w0 w1 w1 w1 w1 </s> <pad>
    word_index = torch.tensor([[-1, 0, 0, 0, 1, 2, 2, -1], [-1, 0, 1, 1, 1, 1, -1, -1]])
    states = torch.randn(2, 8, 5)
    pooled = pool_subwords(states, word_index, 3, pooling)
    assert pooled.shape == (2, 3, 5)
    assert torch.allclose(pooled, slow_pool(states, word_index, 3, pooling))
    assert torch.all(pooled[1, 2] == 0)  # padding word


def test_pooling_passes_gradients_to_the_pieces_it_uses() -> None:
    states = torch.randn(1, 5, 3, requires_grad=True)
    word_index = torch.tensor([[-1, 0, 0, 1, -1]])
    pool_subwords(states, word_index, 2, "first").sum().backward()
    assert states.grad is not None
    assert states.grad[0, :, 0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]


def test_unknown_pooling_is_an_error() -> None:
    with pytest.raises(ValueError, match="first"):
        pool_subwords(torch.zeros(1, 2, 2), torch.zeros(1, 2, dtype=torch.long), 1, "max")
