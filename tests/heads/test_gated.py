"""The gated shared/private output layer, and heads that share their projection or CRF."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from babeltag.heads.crf import CRFHead, LinearChainCRF
from babeltag.heads.gated import GatedOutput
from babeltag.heads.softmax import SoftmaxHead


def _gated(shared: nn.Linear | None = None, seed: int = 0) -> GatedOutput:
    torch.manual_seed(seed)
    return GatedOutput(shared or nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(4, 3))


# --- GatedOutput -----------------------------------------------------------------------------------


def test_gated_output_is_the_formula() -> None:
    layer = _gated()
    h = torch.randn(2, 5, 4)
    by_hand = []
    for row in h.reshape(-1, 4):
        g = 1 / (1 + torch.exp(-(layer.gate.weight @ row + layer.gate.bias)))
        private = layer.private.weight @ row + layer.private.bias
        shared = layer.shared.weight @ row + layer.shared.bias
        by_hand.append(g * private + (1 - g) * shared)
    assert layer(h).shape == (2, 5, 3)
    assert torch.allclose(layer(h), torch.stack(by_hand).view(2, 5, 3), atol=1e-6)
    assert (layer.input_dim, layer.output_dim) == (4, 3)


@pytest.mark.parametrize(("bias", "side"), [(100.0, "private"), (-100.0, "shared")])
def test_a_saturated_gate_picks_one_side(bias: float, side: str) -> None:
    layer = _gated()
    with torch.no_grad():
        layer.gate.weight.zero_()
        layer.gate.bias.fill_(bias)
    h = torch.randn(6, 4)
    assert torch.allclose(layer(h), getattr(layer, side)(h))


def test_shape_mismatches_are_named() -> None:
    with pytest.raises(ValueError, match="private maps 4 -> 2"):
        GatedOutput(nn.Linear(4, 3), nn.Linear(4, 2), nn.Linear(4, 3))
    with pytest.raises(ValueError, match="gate maps 5 -> 3"):
        GatedOutput(nn.Linear(4, 3), nn.Linear(4, 3), nn.Linear(5, 3))


def test_gradients_reach_the_shared_layer_from_both_languages() -> None:
    shared = nn.Linear(4, 3)
    english, german = _gated(shared, seed=1), _gated(shared, seed=2)
    assert english.shared is german.shared
    h = torch.randn(6, 4)

    english(h).sum().backward()
    assert shared.weight.grad is not None and english.private.weight.grad is not None
    from_english = shared.weight.grad.clone()
    english_private = english.private.weight.grad.clone()
    assert from_english.abs().sum() > 0
    german(h).sum().backward()
    assert (shared.weight.grad - from_english).abs().sum() > 0
    # each private layer hears only from its own language
    assert torch.equal(english.private.weight.grad, english_private)
    model = nn.ModuleList([english, german])
    assert sum(p is shared.weight for p in model.parameters()) == 1


# --- heads built on shared parts -------------------------------------------------------------------


def _step(loss: torch.Tensor, module: nn.Module) -> None:
    optimiser = torch.optim.SGD(module.parameters(), lr=1.0)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    features = torch.randn(2, 4, 4)
    labels = torch.tensor([[0, 1, 2, 0], [2, 2, 0, 0]])
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    return features, labels, mask


def test_softmax_heads_on_one_projection_share_it() -> None:
    torch.manual_seed(0)
    projection = nn.Linear(4, 3)
    first, second = SoftmaxHead(4, 3, projection=projection), SoftmaxHead(4, 3, projection=projection)
    assert first.projection is second.projection is projection
    features, labels, mask = _batch()
    before = second.scores(features).detach().clone()
    _step(first.loss(features, labels, mask), first)
    assert not torch.allclose(second.scores(features), before)


def test_softmax_head_takes_a_gated_output() -> None:
    torch.manual_seed(0)
    shared = nn.Linear(4, 3)
    english = SoftmaxHead(4, 3, projection=_gated(shared, seed=1))
    german = SoftmaxHead(4, 3, projection=_gated(shared, seed=2))
    features, labels, mask = _batch()
    before = german.scores(features).detach().clone()
    _step(english.loss(features, labels, mask), english)
    assert not torch.allclose(german.scores(features), before)


def test_crf_heads_on_one_projection_and_crf_share_them() -> None:
    torch.manual_seed(0)
    projection, crf = nn.Linear(4, 3), LinearChainCRF(3)
    first = CRFHead(4, 3, projection=projection, crf=crf)
    second = CRFHead(4, 3, projection=projection, crf=crf)
    assert first.projection is second.projection and first.crf is second.crf
    features, labels, mask = _batch()
    emissions_before = second.emissions(features).detach().clone()
    nll_before = second.loss(features, labels, mask).item()
    _step(first.loss(features, labels, mask), first)
    assert not torch.allclose(second.emissions(features), emissions_before)
    assert second.loss(features, labels, mask).item() < nll_before


def test_crf_heads_sharing_only_the_crf() -> None:
    torch.manual_seed(0)
    crf = LinearChainCRF(3)
    first, second = CRFHead(4, 3, crf=crf), CRFHead(4, 3, crf=crf)
    assert first.projection is not second.projection
    transitions_before = second.crf.transitions.detach().clone()
    features, labels, mask = _batch()
    _step(first.loss(features, labels, mask), first)
    assert not torch.equal(second.crf.transitions, transitions_before)


def test_heads_check_what_they_are_given() -> None:
    with pytest.raises(ValueError, match="has 3 tags but the CRF passed in has 5"):
        CRFHead(4, 3, crf=LinearChainCRF(5))
    with pytest.raises(ValueError, match="its own constraints"):
        CRFHead(4, 3, allowed_start=torch.ones(3, dtype=torch.bool), crf=LinearChainCRF(3))
    with pytest.raises(ValueError, match="maps 4 -> 5"):
        CRFHead(4, 3, projection=nn.Linear(4, 5))
    with pytest.raises(ValueError, match="maps 6 -> 3"):
        SoftmaxHead(4, 3, projection=GatedOutput(nn.Linear(6, 3), nn.Linear(6, 3), nn.Linear(6, 3)))


def test_default_heads_are_unchanged() -> None:
    torch.manual_seed(0)
    head = CRFHead(4, 3)
    assert isinstance(head.projection, nn.Linear) and isinstance(head.crf, LinearChainCRF)
    assert set(dict(head.named_parameters())) == {
        "projection.weight",
        "projection.bias",
        "crf.start_transitions",
        "crf.transitions",
        "crf.end_transitions",
    }
    assert set(dict(SoftmaxHead(4, 3).named_parameters())) == {"projection.weight", "projection.bias"}
