"""Mixture of experts over source languages (Chen et al. 2019, MAN-MoE).

    h [B, T, D] ─┬─ expert of source language 1 ─┐
                 ├─ expert of source language 2 ─┼─ sum weighted by g ─ [B, T, O]
                 └─ gate: softmax(W h) over experts = g [B, T, E]

Each source language has an expert; a gate reads every token and weights the experts' outputs, so
a target language (with no expert of its own) borrows from the sources whose experts suit each of
its tokens. On source-language batches the gate is trained to pick the expert of the batch's own
language (``gate_loss``: token-level NLL of the true language), which is what lets it recognise
which source a target token resembles.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ExpertMLP(nn.Module):
    """One expert: ``layers`` linear layers with ReLU between them, and tanh after the last when
    ``tanh_output`` (MAN-MoE's private-feature experts end in tanh; its predictor experts do not)."""

    def __init__(
        self, input_dim: int, output_dim: int, hidden: int, layers: int = 2, tanh_output: bool = False
    ):
        super().__init__()
        dims = [input_dim] + [hidden] * (layers - 1) + [output_dim]
        modules: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            modules.append(nn.Linear(a, b))
            if i < len(dims) - 2:
                modules.append(nn.ReLU())
        if tanh_output:
            modules.append(nn.Tanh())
        self.net = nn.Sequential(*modules)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h)


class MixtureOfExperts(nn.Module):
    def __init__(self, experts: dict[str, nn.Module], input_dim: int) -> None:
        """``experts``: source language -> a module mapping ``input_dim`` to a common output size."""
        super().__init__()
        if not experts:
            raise ValueError("a mixture of experts needs at least one expert")
        self.languages: list[str] = list(experts)
        self.experts = nn.ModuleList(experts.values())
        self.gate = nn.Linear(input_dim, len(experts))
        self.input_dim = input_dim

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the gated sum of the experts' outputs ``[..., O]``, the gate probabilities ``[..., E]``)."""
        gate = torch.softmax(self.gate(h), dim=-1)
        outputs = torch.stack([expert(h) for expert in self.experts], dim=-1)  # [..., O, E]
        return (outputs * gate.unsqueeze(-2)).sum(dim=-1), gate

    def gate_loss(self, gate: torch.Tensor, mask: torch.Tensor | None, language: str) -> torch.Tensor:
        """Mean over real tokens of -log g[language]; zero for a language without an expert (a
        target: its tokens have no right answer for the gate). ``mask`` None: every row of ``gate``
        is a real token (a head that projected the real tokens only)."""
        if language not in self.languages:
            return gate.new_zeros(())
        expert = self.languages.index(language)
        if mask is None:
            mask = torch.ones(gate.shape[:-1], dtype=torch.bool, device=gate.device)
        return F.nll_loss(
            torch.log(gate[mask].clamp_min(1e-12)), gate.new_full((int(mask.sum()),), expert).long()
        )

    def expert_weights(self, gate: torch.Tensor, mask: torch.Tensor) -> dict[str, float]:
        """Average gate weight of each expert over real tokens (for the expert-gate heatmap)."""
        mean = gate[mask].detach().mean(dim=0)
        return {language: float(mean[i]) for i, language in enumerate(self.languages)}


def expert_languages(languages: Sequence[str], target_languages: Sequence[str]) -> list[str]:
    """The languages that get an expert: the sources (every language that is not a target)."""
    return [language for language in languages if language not in set(target_languages)]
