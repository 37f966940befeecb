"""Word features from a subword encoder: Batch -> ``[B, T, D]``, like the character features.

    pieces ─ transformer (ours, or a Hugging Face model) ─ layer choice / scalar mix ─ pool to words

With these a tagging or classification head of any recipe works on a transformer unchanged: it
sees one vector per word, whatever the encoder did with the pieces.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from babeltag.data.batching import Batch
from babeltag.encoders.huggingface import HuggingFaceEncoder
from babeltag.encoders.scalar_mix import ScalarMix
from babeltag.encoders.subword_pooling import pool_subwords
from babeltag.encoders.transformer import TransformerEncoder


class SubwordFeatures(nn.Module):
    """Pieces of a batch -> pooled word vectors. ``language_ids`` maps a sentence's language to
    its language-embedding row (XLM); languages not in it get row 0."""

    def __init__(
        self,
        encoder: TransformerEncoder | HuggingFaceEncoder,
        pooling: str = "first",
        layers: str | int = "last",
        language_ids: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.output_dim = encoder.output_dim
        self.language_ids = dict(language_ids or {})
        # a Hugging Face encoder picks its own layers; ours returns them all and we choose here
        self.layer: int | None = None
        self.mix: ScalarMix | None = None
        if isinstance(encoder, TransformerEncoder):
            if layers == "mix":
                self.mix = ScalarMix(encoder.num_layers + 1, encoder.output_dim)
            elif isinstance(layers, int):
                if not -(encoder.num_layers + 1) <= layers <= encoder.num_layers:
                    raise ValueError(
                        f"layers: {layers} is out of range for an encoder with {encoder.num_layers} layers "
                        f"(0 = embeddings, {encoder.num_layers} or -1 = last)"
                    )
                self.layer = layers
        self.window = encoder.max_positions if isinstance(encoder, TransformerEncoder) else encoder.max_pieces

    def forward(self, batch: Batch) -> torch.Tensor:
        assert (
            batch.piece_ids is not None and batch.piece_words is not None and batch.piece_mask is not None
        ), "the batch has no subword pieces"
        languages = None
        if self.language_ids and batch.languages is not None:
            languages = torch.tensor(
                [self.language_ids.get(x, 0) for x in batch.languages], device=batch.piece_ids.device
            )
        states = self._states(batch.piece_ids, batch.piece_mask, languages)
        return pool_subwords(states, batch.piece_words, batch.word_ids.shape[1], self.pooling)

    def _states(self, ids: torch.Tensor, mask: torch.Tensor, languages: torch.Tensor | None) -> torch.Tensor:
        # a sentence longer than the encoder's positions is read in consecutive windows
        if self.window is not None and ids.shape[1] > self.window:
            windows = []
            for start in range(0, ids.shape[1], self.window):
                window_mask = mask[:, start : start + self.window].clone()
                # a shorter sentence has only padding in a late window; attention over nothing is
                # NaN, so let it see one (ignored) padding piece
                window_mask[:, 0] = True
                windows.append(self._states(ids[:, start : start + self.window], window_mask, languages))
            return torch.cat(windows, dim=1)
        if not isinstance(self.encoder, TransformerEncoder):
            return self.encoder(ids, mask)
        if self.mix is None and self.layer is None:
            return self.encoder(ids, mask, languages)
        states = self.encoder.hidden_states(ids, mask, languages)
        return self.mix(states) if self.mix is not None else states[self.layer]  # type: ignore[index]
