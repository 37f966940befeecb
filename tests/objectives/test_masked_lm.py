"""Masking statistics and the MLM head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from babeltag.objectives.masked_lm import IGNORE, MaskedLMHead, mask_pieces


def test_masking_matches_the_configured_rates_on_a_large_sample() -> None:
    g = torch.Generator().manual_seed(0)
    pieces = torch.randint(5, 1000, (400, 500), generator=g)
    maskable = torch.ones_like(pieces, dtype=torch.bool)
    maskable[:, :50] = False  # specials / padding
    inputs, targets = mask_pieces(
        pieces, maskable, mask_id=4, first_normal_id=5, vocab_size=1000, generator=g
    )
    chosen = targets != IGNORE
    n = int(maskable.sum())
    assert not chosen[~maskable].any()
    assert chosen.sum() / n == pytest.approx(0.15, abs=0.003)
    k = int(chosen.sum())
    masked = (inputs == 4) & chosen
    kept = (inputs == pieces) & chosen
    random = chosen & ~masked & ~kept
    assert masked.sum() / k == pytest.approx(0.8, abs=0.01)
    # a random replacement can draw the same piece (1 in 995): those count as kept
    assert kept.sum() / k == pytest.approx(0.1 + 0.1 / 995, abs=0.01)
    assert random.sum() / k == pytest.approx(0.1, abs=0.01)
    assert torch.equal(targets[chosen], pieces[chosen])
    assert torch.equal(inputs[~chosen], pieces[~chosen])
    assert int(inputs[random].min()) >= 5  # never a special token


def test_other_rates_are_honoured() -> None:
    g = torch.Generator().manual_seed(1)
    pieces = torch.randint(5, 50, (200, 200), generator=g)
    inputs, targets = mask_pieces(
        pieces, torch.ones_like(pieces, dtype=torch.bool), 4, 5, 50, g, 0.4, 0.5, 0.0
    )
    chosen = targets != IGNORE
    assert chosen.float().mean() == pytest.approx(0.4, abs=0.01)
    assert ((inputs == 4) & chosen).sum() / chosen.sum() == pytest.approx(0.5, abs=0.02)


def test_bad_rates_are_refused() -> None:
    g = torch.Generator()
    with pytest.raises(ValueError, match="mask"):
        mask_pieces(
            torch.zeros(1, 3, dtype=torch.long),
            torch.ones(1, 3, dtype=torch.bool),
            4,
            5,
            9,
            g,
            0.15,
            0.8,
            0.3,
        )


def test_head_is_tied_to_the_embedding_and_scores_only_targets() -> None:
    embedding = nn.Embedding(20, 8)
    head = MaskedLMHead(embedding)
    assert head.decoder_weight is embedding.weight
    states = torch.randn(2, 4, 8)
    targets = torch.full((2, 4), IGNORE)
    targets[0, 1], targets[1, 3] = 7, 9
    loss, count = head.loss(states, targets)
    assert count == 2
    scores = head(states)
    expected = nn.functional.cross_entropy(torch.stack([scores[0, 1], scores[1, 3]]), torch.tensor([7, 9]))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    zero, none = head.loss(states, torch.full((2, 4), IGNORE))
    assert none == 0 and zero.item() == 0.0
