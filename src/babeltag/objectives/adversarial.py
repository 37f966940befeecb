"""Language-adversarial training: make shared features useless for telling languages apart.

    shared states [B, T, D] ─ gradient reversal (scale lambda) ─ sentence CNN ─ MLP ─ language logits

The discriminator learns to name each sentence's language; the gradient reversal layer sends the
encoder the *negated* gradient, so the encoder learns features the discriminator cannot use
(Ganin & Lempitsky 2015; Kim et al. 2017 for POS tagging). The discriminator follows Kim et al.:
convolutions of widths 3, 4, 5 (64 filters each) over the states, max-pooled over time, tanh,
concatenated, then one hidden layer with Leaky ReLU (slope 0.2).

Two losses for the discriminator (:func:`language_loss`): the negative log-likelihood of the true
language, or a multinomial Wasserstein critic (Arjovsky et al. 2017; Chen et al.'s ADAN/MAN): one
score per language, and the critic of language l maximises its score on l's sentences minus its mean
score on the others'. A Wasserstein critic must stay Lipschitz, so its weights are clipped after each
of its updates (:meth:`LanguageDiscriminator.clip_weights`); it is trained with its own optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient times ``-scale`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


class GradientReversal(nn.Module):
    """``forward(x) = x``; ``d loss / d x`` is multiplied by ``-scale`` on the way back. ``scale``
    (lambda) is set from outside as training goes (:func:`lambda_schedule`)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ReverseGradient.apply(x, self.scale)


def lambda_schedule(kind: str, progress: float, maximum: float = 1.0) -> float:
    """lambda at ``progress`` in [0, 1] (the share of training done):

    * ``constant``: ``maximum`` throughout;
    * ``linear``: from 0 to ``maximum``;
    * ``ganin``: ``maximum * (2 / (1 + exp(-10 p)) - 1)`` (Ganin & Lempitsky 2015), which lets the
      discriminator learn something before its gradient reaches the encoder.
    """
    p = min(max(progress, 0.0), 1.0)
    if kind == "constant":
        return maximum
    if kind == "linear":
        return maximum * p
    if kind == "ganin":
        return maximum * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
    raise ValueError(f"unknown lambda schedule {kind!r}; expected constant, linear or ganin")


class SentenceCNN(nn.Module):
    """Token states ``[B, T, D]`` -> one vector per sentence: convolutions of several widths,
    max-pooled over the sentence's real positions, tanh, concatenated."""

    def __init__(self, input_dim: int, widths: Sequence[int] = (3, 4, 5), filters: int = 64) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.output_dim = filters * len(widths)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(input_dim, filters, kernel_size=w, padding=w // 2) for w in widths
        )

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = (states * mask.unsqueeze(2)).transpose(1, 2)  # [B, D, T], zero past the sentence
        pooled = []
        for convolution in self.convolutions:
            h = convolution(x)[:, :, : mask.shape[1]]  # even widths give one extra position
            h = h.masked_fill(~mask.unsqueeze(1), float("-inf"))
            pooled.append(torch.tanh(h.max(dim=2).values))
        return torch.cat(pooled, dim=1)


class LanguageDiscriminator(nn.Module):
    """Which language is this sentence in? A SentenceCNN then an MLP with one Leaky-ReLU hidden layer."""

    def __init__(
        self,
        input_dim: int,
        languages: Sequence[str],
        hidden: int = 100,
        widths: Sequence[int] = (3, 4, 5),
        filters: int = 64,
    ) -> None:
        super().__init__()
        if len(languages) < 2:
            raise ValueError("a language discriminator needs at least two languages")
        self.languages = list(languages)
        self.encoder = SentenceCNN(input_dim, widths, filters)
        self.mlp = nn.Sequential(
            nn.Linear(self.encoder.output_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, len(languages))
        )

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Language logits ``[B, L]`` (critic scores for the Wasserstein loss)."""
        return self.mlp(self.encoder(states, mask))

    @torch.no_grad()
    def clip_weights(self, bound: float) -> None:
        """Every weight into ``[-bound, bound]`` (WGAN's way of keeping a critic Lipschitz)."""
        for parameter in self.parameters():
            parameter.clamp_(-bound, bound)


def language_loss(scores: torch.Tensor, language: int, kind: str = "nll") -> torch.Tensor:
    """The discriminator's loss on a batch of sentences of one ``language`` (scores ``[B, L]``).

    * ``nll``: cross-entropy of the true language;
    * ``wasserstein``: ``-(s_l - mean_{k != l} s_k)``, averaged over the batch: summed over batches of
      every language it is each language's critic separating that language from the rest.
    """
    if kind == "nll":
        target = torch.full((scores.shape[0],), language, dtype=torch.long, device=scores.device)
        return F.cross_entropy(scores, target)
    if kind == "wasserstein":
        others = (scores.sum(dim=1) - scores[:, language]) / (scores.shape[1] - 1)
        return -(scores[:, language] - others).mean()
    raise ValueError(f"unknown discriminator loss {kind!r}; expected nll or wasserstein")


class LanguageAdversary(nn.Module):
    """The objective: discriminator NLL through gradient reversal. Minimising it trains the
    discriminator to recognise languages and, through the reversed gradient, the encoder to hide them."""

    def __init__(self, discriminator: LanguageDiscriminator, scale: float = 1.0, loss: str = "nll") -> None:
        super().__init__()
        if loss not in ("nll", "wasserstein"):
            raise ValueError(f"unknown discriminator loss {loss!r}; expected nll or wasserstein")
        self.discriminator = discriminator
        self.reversal = GradientReversal(scale)
        self.loss = loss

    def forward(self, states: torch.Tensor, mask: torch.Tensor, language: str) -> torch.Tensor:
        logits = self.discriminator(self.reversal(states), mask)
        return language_loss(logits, self.discriminator.languages.index(language), self.loss)
