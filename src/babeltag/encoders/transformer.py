"""A transformer encoder over subword pieces (Vaswani et al. 2017; XLM, Lample and Conneau 2019).

    pieces ─ piece embedding ─┐
    positions ─ position ─────┼─ sum ─ [layer norm] ─ dropout ─ [pre-norm layer] x N ─ layer norm ─ states
    languages ─ language ─────┘  (optional, XLM)

Pre-norm layers (layer norm before attention and feed-forward) train stably without a long
warm-up, which matters for small models pretrained on a CPU. Positions are learned or sinusoidal;
the position ids can be passed in, so a translation-LM pair restarts its count at the second
sentence. Language embeddings tell the model which language it reads; id 0 means "not given".

The optional layer norm over the summed embeddings (BERT's and XLM's ``layer_norm_emb``) puts the
input on the same unit scale as what each layer adds to the residual stream. Without it the
embeddings (initialised with std dim^-1/2) are a small part of the stream after the first layer,
whose attention starts out as a plain average over the sentence; the piece's own identity is then
hard to read for the layers above, which slows masked-LM training (docs/xlm.md: held-out
perplexity 23% lower after 1,500 steps with the norm). Saved encoders without it load unchanged
(``embedding_norm`` is off for them).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

POSITIONS = ("learned", "sinusoidal")


def sinusoidal_table(max_positions: int, dim: int) -> torch.Tensor:
    """``PE[p, 2i] = sin(p / 10000^(2i/d))``, ``PE[p, 2i+1] = cos(...)``."""
    position = torch.arange(max_positions, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(max_positions, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class TransformerEncoder(nn.Module):
    """Piece ids ``[B, S]`` -> contextual states ``[B, S, dim]``."""

    def __init__(
        self,
        vocab_size: int,
        dim: int = 256,
        layers: int = 4,
        heads: int = 4,
        ff_dim: int | None = None,
        dropout: float = 0.1,
        positions: str = "learned",
        max_positions: int = 256,
        num_languages: int = 0,
        pad_id: int = 0,
        embedding_norm: bool = False,
    ) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        if dim % heads:
            raise ValueError(f"the hidden size {dim} must be divisible by the number of heads {heads}")
        self.settings: dict[str, Any] = {
            "vocab_size": vocab_size,
            "dim": dim,
            "layers": layers,
            "heads": heads,
            "ff_dim": ff_dim or 4 * dim,
            "dropout": dropout,
            "positions": positions,
            "max_positions": max_positions,
            "num_languages": num_languages,
            "pad_id": pad_id,
            "embedding_norm": embedding_norm,
        }
        self.output_dim = dim
        self.num_layers = layers
        self.max_positions = max_positions
        self.pieces = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        nn.init.normal_(self.pieces.weight, std=dim**-0.5)
        with torch.no_grad():
            self.pieces.weight[pad_id].zero_()
        self.positions: nn.Embedding | None = None
        if positions == "learned":
            self.positions = nn.Embedding(max_positions, dim)
            nn.init.normal_(self.positions.weight, std=dim**-0.5)
        else:
            self.register_buffer("sinusoids", sinusoidal_table(max_positions, dim), persistent=False)
        # row 0: no language given (fine-tuning data in a language the pretraining never saw)
        self.languages = nn.Embedding(num_languages + 1, dim) if num_languages else None
        if self.languages is not None:
            nn.init.normal_(self.languages.weight, std=dim**-0.5)
        self.embedding_norm = nn.LayerNorm(dim) if embedding_norm else None
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                dim, heads, ff_dim or 4 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
            )
            for _ in range(layers)
        )
        self.final_norm = nn.LayerNorm(dim)

    def position_vectors(self, position_ids: torch.Tensor) -> torch.Tensor:
        if self.positions is not None:
            return self.positions(position_ids)
        table = self.sinusoids
        assert isinstance(table, torch.Tensor)
        return table[position_ids]

    def embed(
        self,
        piece_ids: torch.Tensor,
        language_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        B, S = piece_ids.shape
        if position_ids is None:
            position_ids = torch.arange(S, device=piece_ids.device).expand(B, S)
        if int(position_ids.max()) >= self.max_positions:
            raise ValueError(
                f"a sequence of {int(position_ids.max()) + 1} pieces is longer than the encoder's "
                f"{self.max_positions} positions"
            )
        x = self.pieces(piece_ids) + self.position_vectors(position_ids)
        if self.languages is not None and language_ids is not None:
            if language_ids.dim() == 1:  # one language per sentence
                language_ids = language_ids.unsqueeze(1).expand(B, S)
            x = x + self.languages(language_ids)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x)
        return self.dropout(x)

    def forward(
        self,
        piece_ids: torch.Tensor,
        piece_mask: torch.Tensor,
        language_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.hidden_states(piece_ids, piece_mask, language_ids, position_ids)[-1]

    def hidden_states(
        self,
        piece_ids: torch.Tensor,
        piece_mask: torch.Tensor,
        language_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """The embedding output and every layer's output (the last one layer-normed): what a
        scalar mix or a per-layer probe looks at."""
        x = self.embed(piece_ids, language_ids, position_ids)
        states = [x]
        padding = ~piece_mask
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=padding)
            states.append(x)
        states[-1] = self.final_norm(x)
        return states
