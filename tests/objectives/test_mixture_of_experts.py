"""The mixture of experts: output = gate-weighted sum of experts, gate loss = NLL of the true language."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from babeltag.objectives.mixture_of_experts import ExpertMLP, MixtureOfExperts, expert_languages


def mixture() -> MixtureOfExperts:
    torch.manual_seed(0)
    return MixtureOfExperts(
        {"en": ExpertMLP(4, 3, 5), "de": ExpertMLP(4, 3, 5, tanh_output=True)}, input_dim=4
    )


def test_output_is_the_gate_weighted_sum_of_the_experts() -> None:
    moe = mixture()
    h = torch.randn(2, 3, 4)
    output, gate = moe(h)
    assert output.shape == (2, 3, 3) and gate.shape == (2, 3, 2)
    assert torch.allclose(gate.sum(dim=-1), torch.ones(2, 3))
    for b in range(2):
        for t in range(3):
            expected = sum(gate[b, t, e] * moe.experts[e](h[b, t]) for e in range(2))
            assert torch.allclose(output[b, t], expected, atol=1e-6)


def test_a_gate_forced_to_one_expert_gives_that_expert() -> None:
    moe = mixture()
    with torch.no_grad():
        moe.gate.weight.zero_()
        moe.gate.bias.copy_(torch.tensor([-50.0, 50.0]))
    h = torch.randn(5, 4)
    output, _ = moe(h)
    assert torch.allclose(output, moe.experts[1](h), atol=1e-5)
    assert (moe.experts[1](h).abs() <= 1).all()  # the tanh expert


def test_gate_loss_is_the_nll_of_the_true_language_over_real_tokens() -> None:
    moe = mixture()
    h = torch.randn(2, 4, 4)
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    _, gate = moe(h)
    loss = moe.gate_loss(gate, mask, "de")
    expected = -sum(math.log(gate[b, t, 1].item()) for b in range(2) for t in range(4) if mask[b, t]) / 4
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert moe.gate_loss(gate, mask, "nl").item() == 0.0  # a target language: nothing to learn
    weights = moe.expert_weights(gate, mask)
    assert set(weights) == {"en", "de"} and sum(weights.values()) == pytest.approx(1.0)


def test_training_the_gate_loss_teaches_the_gate_to_recognise_languages() -> None:
    """Two 'languages' that differ in where their features lie: the gate learns to tell them apart."""
    torch.manual_seed(1)
    moe = MixtureOfExperts({"en": nn.Linear(2, 2), "de": nn.Linear(2, 2)}, input_dim=2)
    optimizer = torch.optim.SGD(moe.parameters(), lr=0.5)
    english, german = torch.randn(64, 2) + 2, torch.randn(64, 2) - 2
    mask = torch.ones(64, dtype=torch.bool)
    for _ in range(50):
        optimizer.zero_grad()
        loss = moe.gate_loss(moe(english)[1], mask, "en") + moe.gate_loss(moe(german)[1], mask, "de")
        loss.backward()
        optimizer.step()
    assert moe.expert_weights(moe(english)[1], mask)["en"] > 0.9
    assert moe.expert_weights(moe(german)[1], mask)["de"] > 0.9


def test_experts_are_the_source_languages() -> None:
    assert expert_languages(["de", "en", "es", "nl"], ["nl"]) == ["de", "en", "es"]
    with pytest.raises(ValueError, match="at least one expert"):
        MixtureOfExperts({}, input_dim=3)
