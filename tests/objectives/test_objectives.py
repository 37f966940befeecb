"""Gradient reversal, lambda schedules, the language discriminator and the bi-LM loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from babeltag.objectives.adversarial import (
    GradientReversal,
    LanguageAdversary,
    LanguageDiscriminator,
    SentenceCNN,
    lambda_schedule,
    language_loss,
)
from babeltag.objectives.language_model import BOS, EOS, UNK, BiLMObjective


def test_gradient_reversal_is_identity_forward_and_negates_scaled_gradients() -> None:
    x = torch.randn(3, 4, requires_grad=True)
    layer = GradientReversal(scale=0.3)
    y = layer(x)
    assert torch.equal(y, x)
    weights = torch.randn(3, 4)
    (y * weights).sum().backward()
    assert x.grad is not None
    assert torch.allclose(x.grad, -0.3 * weights)


@pytest.mark.parametrize(
    ("kind", "progress", "expected"),
    [
        ("constant", 0.0, 1.0),
        ("constant", 0.7, 1.0),
        ("linear", 0.0, 0.0),
        ("linear", 0.25, 0.25),
        ("linear", 2.0, 1.0),
        ("ganin", 0.0, 0.0),
        ("ganin", 0.1, 2 / (1 + math.exp(-1.0)) - 1),
        ("ganin", 1.0, 2 / (1 + math.exp(-10.0)) - 1),
    ],
)
def test_lambda_schedules_follow_their_formulas(kind: str, progress: float, expected: float) -> None:
    assert lambda_schedule(kind, progress) == pytest.approx(expected)
    assert lambda_schedule(kind, progress, maximum=0.5) == pytest.approx(0.5 * expected)


def test_unknown_lambda_schedule_is_an_error() -> None:
    with pytest.raises(ValueError, match="constant, linear or ganin"):
        lambda_schedule("cosine", 0.5)


def test_sentence_cnn_pools_over_real_positions_only() -> None:
    torch.manual_seed(0)
    cnn = SentenceCNN(input_dim=6, widths=(3, 4), filters=5)
    states = torch.randn(1, 7, 6)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    changed = states.clone()
    changed[:, 4:] = 100.0  # what lies beyond the sentence must not matter
    assert torch.allclose(cnn(states, mask), cnn(changed, mask))
    assert cnn(states, mask).shape == (1, 10)
    # and a sentence alone gives the same vector as inside a padded batch
    assert torch.allclose(cnn(states[:, :4], mask[:, :4]), cnn(states, mask), atol=1e-6)


def test_the_adversary_trains_the_discriminator_and_reverses_the_encoder_gradient() -> None:
    torch.manual_seed(0)
    discriminator = LanguageDiscriminator(4, ["en", "nl"], hidden=8, widths=(3,), filters=4)
    adversary = LanguageAdversary(discriminator, scale=1.0)
    states = torch.randn(2, 5, 4, requires_grad=True)
    mask = torch.ones(2, 5, dtype=torch.bool)
    loss = adversary(states, mask, "nl")
    logits = discriminator(states, mask)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, torch.tensor([1, 1])).item(), rel=1e-5)
    loss.backward()
    reversed_grad = states.grad
    assert reversed_grad is not None
    plain = states.detach().clone().requires_grad_(True)
    F.cross_entropy(discriminator(plain, mask), torch.tensor([1, 1])).backward()
    assert plain.grad is not None
    assert torch.allclose(reversed_grad, -plain.grad, atol=1e-6)
    # the discriminator's own parameters get the ordinary (descent) gradient
    assert all(p.grad is not None for p in discriminator.parameters())


def test_wasserstein_loss_matches_a_slow_version_and_nll_is_cross_entropy() -> None:
    scores = torch.tensor([[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]])
    # language 0's critic: its score minus the mean of the other two, per sentence, averaged, negated
    slow = -((1.0 - (2.0 + 4.0) / 2) + (0.5 - (-1.0 + 3.0) / 2)) / 2
    assert language_loss(scores, 0, "wasserstein").item() == pytest.approx(slow)
    assert language_loss(scores, 2, "nll").item() == pytest.approx(
        F.cross_entropy(scores, torch.tensor([2, 2])).item()
    )
    with pytest.raises(ValueError, match="wasserstein"):
        language_loss(scores, 0, "hinge")


def test_wasserstein_critic_weights_are_clipped_and_the_encoder_gradient_reversed() -> None:
    torch.manual_seed(0)
    discriminator = LanguageDiscriminator(6, ["en", "nl", "de"], hidden=5, widths=(3,), filters=4)
    discriminator.clip_weights(0.01)
    assert all(p.abs().max() <= 0.01 for p in discriminator.parameters())
    adversary = LanguageAdversary(discriminator, scale=1.0, loss="wasserstein")
    states = torch.randn(2, 5, 6, requires_grad=True)
    mask = torch.ones(2, 5, dtype=torch.bool)
    adversary(states, mask, "nl").backward()
    reversed_grad = states.grad.clone()  # type: ignore[union-attr]
    states.grad = None
    language_loss(discriminator(states, mask), 1, "wasserstein").backward()
    assert torch.allclose(reversed_grad, -states.grad)  # type: ignore[operator]


def test_discriminator_needs_two_languages() -> None:
    with pytest.raises(ValueError, match="two languages"):
        LanguageDiscriminator(4, ["en"])


def test_bilm_targets_and_loss_against_a_slow_version() -> None:
    torch.manual_seed(0)
    objective = BiLMObjective(state_dim=6, vocab_size=10, output_words=4)
    # word-table ids: 0 pad, 1 unk, 2..5 the 4 frequent words, 6..9 rarer words
    word_ids = torch.tensor([[2, 7, 5, 0], [3, 1, 0, 0]])
    mask = word_ids != 0
    assert objective.targets(word_ids).tolist() == [[3, UNK, 6, UNK], [4, UNK, UNK, UNK]]
    states = torch.randn(2, 4, 6)
    loss = objective(states, word_ids, mask)

    total_forward, total_backward, count = 0.0, 0.0, 0
    for b in range(2):
        length = int(mask[b].sum())
        words = objective.targets(word_ids[b, :length]).tolist()
        for t in range(length):
            following = words[t + 1] if t + 1 < length else EOS
            preceding = words[t - 1] if t > 0 else BOS
            forward_logits = objective.forward_output(states[b, t, :3])
            backward_logits = objective.backward_output(states[b, t, 3:])
            total_forward += F.cross_entropy(forward_logits[None], torch.tensor([following])).item()
            total_backward += F.cross_entropy(backward_logits[None], torch.tensor([preceding])).item()
            count += 1
    assert loss.item() == pytest.approx(total_forward / count + total_backward / count, rel=1e-5)


def test_bilm_needs_forward_and_backward_halves() -> None:
    with pytest.raises(ValueError, match="halves"):
        BiLMObjective(state_dim=5, vocab_size=10, output_words=3)
