"""BiRNNLayer against the obvious version: torch's bidirectional LSTM/GRU run on one sentence at a
time, without padding."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from babeltag.encoders.rnn import BiRNNLayer

D, H = 5, 4
LENGTHS = [3, 7, 1, 5, 7, 2, 1, 4]  # includes length 1, ties and the padded length
T = 7
TOLERANCE: dict[torch.dtype, dict[str, Any]] = {
    torch.float64: dict(rtol=1e-10, atol=1e-12),
    torch.float32: dict(rtol=1e-5, atol=1e-6),
}


def torch_gate_order(kind: str, weight: torch.Tensor, recurrent: bool) -> torch.Tensor:
    """One direction's ``[gates * H, ...]`` block, from the layer's gate order to torch's."""
    if kind == "lstm":  # (o, i, f, g) -> (i, f, g, o)
        o, i, f, g = weight.split(H)
        return torch.cat([i, f, g, o])
    if recurrent:  # GRU recurrent (n, r, z) -> (r, z, n)
        n, r, z = weight.split(H)
        return torch.cat([r, z, n])
    return weight


def reference_rnn(layer: BiRNNLayer) -> nn.LSTM | nn.GRU:
    cls = nn.LSTM if layer.kind == "lstm" else nn.GRU
    reference = cls(D, H, batch_first=True, bidirectional=True).to(layer.weight_ih.dtype)
    with torch.no_grad():
        for direction, suffix in enumerate(["", "_reverse"]):
            for name in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
                recurrent = name.endswith("hh")
                value = torch_gate_order(layer.kind, getattr(layer, name)[direction], recurrent)
                getattr(reference, f"{name}_l0{suffix}").copy_(value)
    return reference


def reference_grads(layer: BiRNNLayer, reference: nn.LSTM | nn.GRU) -> dict[str, torch.Tensor]:
    """The reference's parameter gradients, in the layer's layout."""
    grads = {}
    for name in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
        per_direction = []
        for suffix in ["", "_reverse"]:
            grad = getattr(reference, f"{name}_l0{suffix}").grad
            assert grad is not None
            per_direction.append(torch_gate_order_inverse(layer.kind, grad, name.endswith("hh")))
        grads[name] = torch.stack(per_direction)
    return grads


def torch_gate_order_inverse(kind: str, weight: torch.Tensor, recurrent: bool) -> torch.Tensor:
    if kind == "lstm":  # (i, f, g, o) -> (o, i, f, g)
        i, f, g, o = weight.split(H)
        return torch.cat([o, i, f, g])
    if recurrent:  # (r, z, n) -> (n, r, z)
        r, z, n = weight.split(H)
        return torch.cat([n, r, z])
    return weight


def run_reference(
    reference: nn.LSTM | nn.GRU, x: torch.Tensor, lengths: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sentence by sentence: outputs ``[B, T, 2H]`` (0 at padding) and final states ``[B, 2H]``."""
    outputs, finals = [], []
    for b, length in enumerate(lengths):
        out, hidden = reference(x[b : b + 1, :length])
        h_n = hidden[0] if isinstance(hidden, tuple) else hidden  # [2, 1, H]
        outputs.append(nn.functional.pad(out[0], (0, 0, 0, x.shape[1] - length)))
        finals.append(torch.cat([h_n[0, 0], h_n[1, 0]]))
    return torch.stack(outputs), torch.stack(finals)


def make_layer(kind: str, dtype: torch.dtype, seed: int = 0) -> BiRNNLayer:
    torch.manual_seed(seed)
    layer = BiRNNLayer(kind, D, H).to(dtype)
    with torch.no_grad():  # non-zero biases, so that every gradient path is exercised
        layer.bias_ih.add_(0.1 * torch.randn_like(layer.bias_ih))
        layer.bias_hh.add_(0.1 * torch.randn_like(layer.bias_hh))
    return layer


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_matches_sentence_by_sentence_reference(kind: str, dtype: torch.dtype) -> None:
    layer = make_layer(kind, dtype)
    reference = reference_rnn(layer)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(len(LENGTHS), T, D, dtype=dtype, generator=generator)
    lengths = torch.tensor(LENGTHS)
    real = (torch.arange(T)[None, :] < lengths[:, None]).unsqueeze(2)
    out_weights = torch.randn(len(LENGTHS), T, 2 * H, dtype=dtype, generator=generator)
    final_weights = torch.randn(len(LENGTHS), 2 * H, dtype=dtype, generator=generator)

    x_fast = x.clone().requires_grad_()
    out, final = layer(x_fast, lengths)
    ((out * out_weights * real).sum() + (final * final_weights).sum()).backward()

    x_slow = x.clone().requires_grad_()
    expected_out, expected_final = run_reference(reference, x_slow, LENGTHS)
    ((expected_out * out_weights * real).sum() + (expected_final * final_weights).sum()).backward()

    tolerance = TOLERANCE[dtype]
    assert out.shape == (len(LENGTHS), T, 2 * H) and final.shape == (len(LENGTHS), 2 * H)
    torch.testing.assert_close(out * real, expected_out, **tolerance)
    torch.testing.assert_close(final, expected_final, **tolerance)
    assert x_fast.grad is not None and x_slow.grad is not None
    torch.testing.assert_close(x_fast.grad, x_slow.grad, **tolerance)
    for name, expected in reference_grads(layer, reference).items():
        grad = getattr(layer, name).grad
        assert grad is not None, name
        torch.testing.assert_close(grad, expected, **tolerance, msg=f"gradient of {name} differs")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_inference_matches_reference(kind: str, dtype: torch.dtype) -> None:
    # without gradients the layer takes another path (input projections made step by step)
    layer = make_layer(kind, dtype)
    x = torch.randn(len(LENGTHS), T, D, dtype=dtype, generator=torch.Generator().manual_seed(2))
    real = (torch.arange(T)[None, :] < torch.tensor(LENGTHS)[:, None]).unsqueeze(2)
    with torch.no_grad():
        out, final = layer(x, torch.tensor(LENGTHS))
        expected_out, expected_final = run_reference(reference_rnn(layer), x, LENGTHS)
    torch.testing.assert_close(out, expected_out * real, **TOLERANCE[dtype])
    torch.testing.assert_close(final, expected_final, **TOLERANCE[dtype])


@pytest.mark.parametrize("use", ["outputs", "final"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradients_through_one_result_only(kind: str, use: str) -> None:
    layer = make_layer(kind, torch.float64)
    reference = reference_rnn(layer)
    x = torch.randn(len(LENGTHS), T, D, dtype=torch.float64)
    x_fast, x_slow = x.clone().requires_grad_(), x.clone().requires_grad_()
    index = 0 if use == "outputs" else 1
    layer(x_fast, torch.tensor(LENGTHS))[index].square().sum().backward()
    run_reference(reference, x_slow, LENGTHS)[index].square().sum().backward()
    assert x_fast.grad is not None and x_slow.grad is not None
    torch.testing.assert_close(x_fast.grad, x_slow.grad)
    for name, expected in reference_grads(layer, reference).items():
        torch.testing.assert_close(getattr(layer, name).grad, expected)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_backward_twice_with_retained_graph(kind: str) -> None:
    layer = make_layer(kind, torch.float64)
    x = torch.randn(len(LENGTHS), T, D, dtype=torch.float64, requires_grad=True)
    out, final = layer(x, torch.tensor(LENGTHS))
    loss = out.square().sum() + final.sum()
    loss.backward(retain_graph=True)
    assert x.grad is not None
    once = x.grad.clone()
    loss.backward()
    torch.testing.assert_close(x.grad, 2 * once)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradcheck(kind: str) -> None:
    layer = make_layer(kind, torch.float64)
    lengths = torch.tensor([3, 1, 4, 2])
    x = torch.randn(4, 5, D, dtype=torch.float64, requires_grad=True)

    def run(x: torch.Tensor, *parameters: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for name, value in zip(["weight_ih", "weight_hh", "bias_ih", "bias_hh"], parameters, strict=True):
            setattr(layer, name, value)
        return layer(x, lengths)

    parameters = [p.detach().clone().requires_grad_() for p in layer.parameters()]
    for name in ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]:
        delattr(layer, name)
    assert torch.autograd.gradcheck(run, (x, *parameters), fast_mode=True)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_padding_has_no_influence(kind: str) -> None:
    layer = make_layer(kind, torch.float32)
    lengths = torch.tensor(LENGTHS)
    padding = (torch.arange(T)[None, :] >= lengths[:, None]).unsqueeze(2)
    x = torch.randn(len(LENGTHS), T, D)
    noisy = x.masked_fill(padding, 1e6).requires_grad_()
    out, final = layer(x, lengths)
    noisy_out, noisy_final = layer(noisy, lengths)
    assert torch.equal(out, noisy_out) and torch.equal(final, noisy_final)
    assert torch.all(out.masked_select(padding) == 0)
    (noisy_out.sum() + noisy_final.sum()).backward()
    assert noisy.grad is not None
    assert torch.all(noisy.grad.masked_select(padding) == 0)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_a_sequence_does_not_depend_on_its_batch(kind: str) -> None:
    layer = make_layer(kind, torch.float64)
    x = torch.randn(len(LENGTHS), T, D, dtype=torch.float64)
    out, final = layer(x, torch.tensor(LENGTHS))
    for b in [1, 2, 3]:
        alone_out, alone_final = layer(x[b : b + 1, : LENGTHS[b]], torch.tensor([LENGTHS[b]]))
        torch.testing.assert_close(alone_out[0], out[b, : LENGTHS[b]])
        torch.testing.assert_close(alone_final[0], final[b])


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_empty_sequences_give_zeros(kind: str) -> None:
    layer = make_layer(kind, torch.float64)
    x = torch.randn(3, 4, D, dtype=torch.float64, requires_grad=True)
    out, final = layer(x, torch.tensor([2, 0, 4]))
    assert torch.all(out[1] == 0) and torch.all(final[1] == 0)
    alone_out, alone_final = layer(x[2:, :4], torch.tensor([4]))
    torch.testing.assert_close(final[2], alone_final[0])
    (out.sum() + final.sum()).backward()
    assert x.grad is not None and torch.all(x.grad[1] == 0) and torch.all(x.grad[0, 2:] == 0)
    out, final = layer(x, torch.tensor([0, 0, 0]))
    assert out.shape == (3, 4, 2 * H) and torch.all(out == 0) and torch.all(final == 0)


def test_lstm_forget_gate_bias_starts_at_one() -> None:
    layer = BiRNNLayer("lstm", D, H)
    bias = layer.bias_ih + layer.bias_hh
    expected = torch.zeros(2, 4 * H)
    expected[:, 2 * H : 3 * H] = 1.0  # forget gate, order (o, i, f, g)
    assert torch.equal(bias, expected)
    assert layer.weight_ih.abs().max() <= H**-0.5 and layer.weight_hh.abs().max() <= H**-0.5


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown recurrent cell"):
        BiRNNLayer("rnn", D, H)
    with pytest.raises(ValueError, match="exceeds the padded length"):
        BiRNNLayer("gru", D, H)(torch.zeros(2, 3, D), torch.tensor([4, 1]))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_batch_of_single_step_sequences_trains(kind: str) -> None:
    """A batch whose longest sequence has one step (one-word sentences, one-letter words)."""
    torch.manual_seed(0)
    layer = BiRNNLayer(kind, 3, 4)
    x = torch.randn(5, 1, 3, requires_grad=True)
    outputs, final = layer(x, torch.ones(5, dtype=torch.long))
    (outputs.sum() + final.sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
