"""A shared ("common") word encoder and a private one, their states summed (Kim et al. 2017).

    features ─┬─ common BiLSTM (shared by every language) ──┐
              └─ private BiLSTM (this language's own) ───────┴─ + ─ states

The common encoder is what a language adversary looks at (``forward_with_shared``);
the private one keeps what is particular to a language out of the common space.
"""

from __future__ import annotations

import torch
from torch import nn

from babeltag.models.model import WordEncoder


class CommonPrivateEncoder(nn.Module):
    def __init__(self, common: WordEncoder, private: WordEncoder) -> None:
        super().__init__()
        if (common.input_dim, common.output_dim) != (private.input_dim, private.output_dim):
            raise ValueError(
                f"common encoder maps {common.input_dim} -> {common.output_dim}, private "
                f"{private.input_dim} -> {private.output_dim}: they must agree to be summed"
            )
        self.common = common
        self.private = private
        self.input_dim = common.input_dim
        self.output_dim = common.output_dim

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.common(x, mask) + self.private(x, mask)

    def forward_with_shared(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the summed states, the common encoder's states)."""
        common = self.common(x, mask)
        return common + self.private(x, mask), common

    def shared_states(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The common encoder's states alone (for the adversary's own updates)."""
        return self.common(x, mask)
