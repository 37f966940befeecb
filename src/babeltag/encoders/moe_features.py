"""Shared features beside mixture-of-experts private features (Chen et al. 2019, MAN-MoE).

    features ─┬─ shared BiLSTM ───────────────────────────────────────────┐
              └─ private BiLSTM ─ experts (one per source language) + gate ┴─ concat ─ states

The shared BiLSTM is what the language discriminator reads; the private BiLSTM is shared too, but
its states go through one expert per source language, mixed per token by a gate. A target language
has no expert of its own: the gate decides, token by token, which sources' experts it borrows.
The last gate probabilities are kept (``gate``) so the model can add the gate loss.
"""

from __future__ import annotations

import torch
from torch import nn

from babeltag.models.model import WordEncoder
from babeltag.objectives.mixture_of_experts import MixtureOfExperts


class SharedAndExpertFeatures(nn.Module):
    def __init__(
        self, shared: WordEncoder, private: WordEncoder, experts: MixtureOfExperts, expert_dim: int
    ) -> None:
        super().__init__()
        if shared.input_dim != private.input_dim or experts.input_dim != private.output_dim:
            raise ValueError(
                "the shared and private encoders must read the same features, the experts the private states"
            )
        self.shared = shared
        self.private = private
        self.experts = experts
        self.input_dim = shared.input_dim
        self.output_dim = shared.output_dim + expert_dim
        self.shared_dim = shared.output_dim  # the part of the states a language adversary reads
        self.gate: torch.Tensor | None = None

    def forward_with_shared(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shared = self.shared(x, mask)
        private, self.gate = self.experts(self.private(x, mask))
        return torch.cat([shared, private], dim=-1), shared

    def shared_states(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The shared BiLSTM's states alone (for the discriminator's own updates; leaves ``gate``)."""
        return self.shared(x, mask)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.forward_with_shared(x, mask)[0]


class ExpertPredictor(nn.Module):
    """MAN-MoE's predictor: label scores from a mixture of per-source-language linear experts."""

    def __init__(self, experts: MixtureOfExperts) -> None:
        super().__init__()
        self.experts = experts
        self.gate: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        scores, self.gate = self.experts(h)
        return scores
