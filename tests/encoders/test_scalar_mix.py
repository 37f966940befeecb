"""ScalarMix against the formula written out with Python loops."""

from __future__ import annotations

import math

import pytest
import torch

from babeltag.encoders.scalar_mix import ScalarMix

L, B, S, D = 3, 2, 4, 5


def slow_mix(weights: list[float], gamma: float, layers: list[torch.Tensor]) -> torch.Tensor:
    total = sum(math.exp(w) for w in weights)
    out = torch.zeros_like(layers[0])
    for w, layer in zip(weights, layers, strict=True):
        out += math.exp(w) / total * layer
    return gamma * out


def test_starts_as_the_average() -> None:
    generator = torch.Generator().manual_seed(0)
    layers = [torch.randn(B, S, D, generator=generator, dtype=torch.float64) for _ in range(L)]
    mix = ScalarMix(L, D).double()
    assert (mix.input_dim, mix.output_dim) == (D, D)
    torch.testing.assert_close(mix(layers), sum(layers) / L)


def test_matches_slow_version_and_trains() -> None:
    generator = torch.Generator().manual_seed(1)
    layers = [torch.randn(B, S, D, generator=generator, dtype=torch.float64) for _ in range(L)]
    mix = ScalarMix(L, D).double()
    with torch.no_grad():
        mix.weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    out = mix(layers)
    torch.testing.assert_close(out, slow_mix([0.5, -1.0, 2.0], 1.7, layers))
    out.sum().backward()
    assert mix.weights.grad is not None and mix.gamma.grad is not None


def test_wrong_number_of_layers() -> None:
    mix = ScalarMix(L, D)
    with pytest.raises(ValueError, match="built for 3 layers but was given 2"):
        mix([torch.zeros(B, S, D)] * 2)
