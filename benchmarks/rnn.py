"""Speed of one bidirectional LSTM layer: the nn.LSTM-based layer babeltag used before vs BiRNNLayer.

    python benchmarks/rnn.py [--rounds 15] [--threads N] [--cell lstm]

Shapes are those of the baseline POS tagger (batches of 32 length-bucketed sentences, H=100):
  word   B=32 sentences, T=22, D_in=328 (word 128 + char 200): first word layer, training step
  word2  the same batch, D_in=200: second word layer, training step
  char   U=336 unique words, L=18, D_in=25, word lengths with mean ~5.3: char layer, training step
  infer  B=1024 sentences cut from a length-sorted corpus (as prediction batches them), D_in=328,
         forward only under torch.inference_mode()
For the inference case the script also reports the arithmetic rate the layer reaches (GFLOP/s of
its matrix products) beside that of one large matrix product of the same total size, the most this
CPU gives in float32, and an int8 alternative (PyTorch's dynamically quantised nn.LSTM) on the same
batch: the two numbers that say how much faster tagging can get without changing the model.
A training step is forward + backward of a loss on what the tagger uses: the outputs of a word
layer, the final states of the char layer. ``rnn_training_step_ms`` adds up the three layers of a
tagger's training step (char + word + word2). Old and new are timed in the same process,
interleaved round by round, because other processes share the CPU and timings drift; the median
over rounds is reported (and the minimum, the least disturbed). The last line printed is one JSON
object with the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from babeltag.encoders.rnn import BiRNNLayer

H = 100


class NNLSTMLayer(nn.Module):
    """The previous layer: two unidirectional nn.LSTMs, the backward one on each sequence reversed
    within its length."""

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.forward_rnn = nn.LSTM(input_dim, hidden_dim, batch_first=True)
        self.backward_rnn = nn.LSTM(input_dim, hidden_dim, batch_first=True)

    @staticmethod
    def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        B, T = x.shape[0], x.shape[1]
        steps = torch.arange(T).unsqueeze(0).expand(B, T)
        reversed_steps = lengths.unsqueeze(1) - 1 - steps
        index = torch.where(reversed_steps >= 0, reversed_steps, steps)
        return x.gather(1, index.unsqueeze(2).expand_as(x))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        forward_out, _ = self.forward_rnn(x)
        backward_reversed, _ = self.backward_rnn(self.reverse_within_length(x, lengths))
        backward_out = self.reverse_within_length(backward_reversed, lengths)
        last = (lengths - 1).clamp(min=0)
        batch = torch.arange(x.shape[0])
        final = torch.cat([forward_out[batch, last], backward_reversed[batch, last]], dim=-1)
        return torch.cat([forward_out, backward_out], dim=-1), final


class GRULayer(NNLSTMLayer):
    """The previous layer with GRU cells."""

    def __init__(self, input_dim: int, hidden_dim: int) -> None:
        nn.Module.__init__(self)
        self.forward_rnn = nn.GRU(input_dim, hidden_dim, batch_first=True)  # type: ignore[assignment]
        self.backward_rnn = nn.GRU(input_dim, hidden_dim, batch_first=True)  # type: ignore[assignment]


def sentence_lengths(count: int, rng: np.random.Generator) -> torch.Tensor:
    """Sentence lengths with mean ~19.4 and a long tail."""
    return torch.from_numpy(rng.gamma(3.0, 19.4 / 3.0, count).round().clip(1, 120).astype(np.int64))


def bucket(rng: np.random.Generator) -> torch.Tensor:
    """One training batch of 32 length-bucketed sentences (mean ~19.4, longest 22)."""
    lengths = torch.from_numpy(rng.integers(17, 23, 32))
    lengths[0] = 22
    return lengths


def word_lengths(count: int, rng: np.random.Generator) -> torch.Tensor:
    """Characters per unique word: mean ~5.3, longest 18 (a long tail of rare long words)."""
    lengths = torch.from_numpy(rng.gamma(4.0, 5.3 / 4.0, count).round().clip(1, 18).astype(np.int64))
    lengths[0] = 18
    return lengths


def training_step(
    layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor, use: str, rng: np.random.Generator
) -> Callable[[], None]:
    x = x.clone().requires_grad_()
    shape = (x.shape[0], x.shape[1], 2 * H) if use == "outputs" else (x.shape[0], 2 * H)
    weights = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))
    index = 0 if use == "outputs" else 1

    def step() -> None:
        (layer(x, lengths)[index] * weights).sum().backward()
        layer.zero_grad(set_to_none=True)
        x.grad = None

    return step


def inference_step(layer: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.inference_mode():
            layer(x, lengths)

    return step


def lstm_flops(tokens: int, input_dim: int) -> float:
    """Multiply-adds x 2 of both directions' input and recurrent products over ``tokens`` steps."""
    return tokens * 2 * 2 * 4 * H * (input_dim + H)


def gemm_step(tokens: int, input_dim: int) -> Callable[[], None]:
    """One matrix product with the FLOPs of a whole bidirectional layer, in the best shape for the CPU."""
    a = torch.randn(2 * tokens, input_dim + H)
    b = torch.randn(input_dim + H, 4 * H)
    return lambda: torch.mm(a, b)


def int8_step(input_dim: int, x: torch.Tensor) -> Callable[[], None]:
    """PyTorch's dynamically quantised (int8 weights and activations) bidirectional nn.LSTM."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization announces its deprecation
        layer = nn.LSTM(input_dim, H, batch_first=True, bidirectional=True).eval()
        quantised = torch.ao.quantization.quantize_dynamic(layer, {nn.LSTM}, dtype=torch.qint8)

    def step() -> None:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantised(x)

    return step


def time_interleaved(steps: dict[str, Callable[[], None]], rounds: int, calls: int) -> dict[str, list[float]]:
    for step in steps.values():
        for _ in range(2):
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(calls):
                step()
            times[name].append((time.perf_counter() - start) / calls * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    batch = bucket(rng)
    corpus = np.sort(sentence_lengths(16384, rng).numpy())
    cases = {  # lengths, input dim, what the loss uses (None: inference), calls per round
        "word": (batch, 328, "outputs", 5),
        "word2": (batch, 200, "outputs", 5),
        "char": (word_lengths(336, rng), 25, "final", 5),
        "infer": (torch.from_numpy(corpus[8192 - 512 : 8192 + 512]), 328, None, 1),
    }
    old_layer = NNLSTMLayer if args.cell == "lstm" else GRULayer
    result: dict[str, object] = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cell": args.cell,
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    medians: dict[str, dict[str, float]] = {}
    for case, (lengths, input_dim, use, calls) in cases.items():
        torch.manual_seed(0)  # parameter initialisation of both layers
        T = int(lengths.max())
        x = torch.from_numpy(rng.standard_normal((len(lengths), T, input_dim), dtype=np.float32))
        layers = {"old": old_layer(input_dim, H), "new": BiRNNLayer(args.cell, input_dim, H)}
        if use is None:
            steps = {name: inference_step(layer, x, lengths) for name, layer in layers.items()}
            steps["gemm"] = gemm_step(int(lengths.sum()), input_dim)
            steps["int8"] = int8_step(input_dim, x)
        else:
            steps = {name: training_step(layer, x, lengths, use, rng) for name, layer in layers.items()}
        times = time_interleaved(steps, args.rounds, calls)
        median = medians[case] = {name: statistics.median(values) for name, values in times.items()}
        fastest = {name: min(values) for name, values in times.items()}
        print(
            f"{case:5s} B={len(lengths)} T={T} D={input_dim} mean length {lengths.float().mean():.1f}: "
            + ", ".join(f"{name} {median[name]:.2f} ms (min {fastest[name]:.2f})" for name in steps)
            + f", speed-up {median['old'] / median['new']:.2f}x",
            flush=True,
        )
        numbers: dict[str, float] = {
            "B": len(lengths),
            "T": T,
            "old_ms": round(median["old"], 2),
            "new_ms": round(median["new"], 2),
            "old_min_ms": round(fastest["old"], 2),
            "new_min_ms": round(fastest["new"], 2),
            "speedup": round(median["old"] / median["new"], 2),
        }
        if use is None:
            tokens = int(lengths.sum())
            numbers["old_tokens_per_s"] = round(tokens / median["old"] * 1e3)
            numbers["new_tokens_per_s"] = round(tokens / median["new"] * 1e3)
            flops = lstm_flops(tokens, input_dim)
            numbers["new_gflop_per_s"] = round(flops / median["new"] / 1e6, 1)
            numbers["one_gemm_gflop_per_s"] = round(flops / median["gemm"] / 1e6, 1)
            numbers["int8_nn_lstm_ms"] = round(median["int8"], 2)
        result[case] = numbers
    step_ms = {
        name: sum(medians[case][name] for case in ["char", "word", "word2"]) for name in ["old", "new"]
    }
    result["rnn_training_step_ms"] = {name: round(ms, 2) for name, ms in step_ms.items()}
    result["rnn_only_sentences_per_s"] = {name: round(32 / ms * 1e3) for name, ms in step_ms.items()}
    result["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
