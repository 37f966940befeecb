"""A pretrained Hugging Face transformer as an encoder of word pieces, and its tokenizer as a
word -> pieces splitter.

Both load from a local directory written by ``save_pretrained`` and never from the hub:
``local_files_only=True`` is passed on every load, so a typo in a path is an error here instead
of a silent download of whatever model happens to carry that name.

``transformers`` is an optional dependency (``pip install 'babeltag[hf]'``); it is imported only
when one of these classes is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import torch
from torch import nn

from babeltag.encoders.scalar_mix import ScalarMix
from babeltag.errors import ConfigError, DataError, ModelArchiveError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

EXPECTED = "a directory with config.json and the weights, as written by save_pretrained()"

# These models number positions from padding_idx + 1, so two of their position embeddings can
# never be used by a real piece (XLM-R: 514 positions, 512 pieces).
OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "bertweet"})


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as error:
        raise ConfigError(
            "Hugging Face encoders need the transformers package: pip install 'babeltag[hf]'"
        ) from error
    return transformers


def _local_directory(path: str | Path, expected: str) -> Path:
    directory = Path(path)
    if not directory.is_dir():
        raise ModelArchiveError(f"{directory}: no such directory; expected {expected}")
    return directory


def load_model(path: str | Path) -> PreTrainedModel:
    """The transformer saved in ``path``, without a task head."""
    directory = _local_directory(path, EXPECTED)
    if not (directory / "config.json").is_file():
        raise ModelArchiveError(f"{directory}: config.json is missing; expected {EXPECTED}")
    auto_model = _transformers().AutoModel
    try:
        model: PreTrainedModel = auto_model.from_pretrained(str(directory), local_files_only=True)
    except Exception as error:  # transformers raises OSError, ValueError, KeyError, ... here
        raise ModelArchiveError(
            f"{directory}: cannot load a transformer ({error}); expected {EXPECTED}"
        ) from error
    return model


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved in ``path``."""
    expected = (
        "a directory with the tokenizer files (tokenizer.json, tokenizer_config.json), "
        "as written by save_pretrained()"
    )
    directory = _local_directory(path, expected)
    auto_tokenizer = _transformers().AutoTokenizer
    try:
        tokenizer: PreTrainedTokenizerBase = auto_tokenizer.from_pretrained(
            str(directory), local_files_only=True
        )
    except Exception as error:
        raise ModelArchiveError(
            f"{directory}: cannot load a tokenizer ({error}); expected {expected}"
        ) from error
    return tokenizer


class HuggingFaceEncoder(nn.Module):
    """Word pieces ``[B, S]`` -> contextual piece vectors ``[B, S, output_dim]``.

    ``layers`` picks what comes out: ``"last"`` the top layer; an int an index into the hidden
    states, where 0 is the embedding layer's output and -1 the top layer; ``"mix"`` a learnt
    :class:`ScalarMix` of all hidden states, the embedding layer's included.

    With ``freeze`` the transformer's weights get no gradient and it stays in eval mode even
    inside ``.train()``: dropout in a network that is not being trained only adds noise to the
    features. A scalar mix on top is still trained.

    ``max_pieces`` is the longest piece sequence the model has position embeddings for
    (specials included), or None if its config does not say. Longer sentences fail inside the
    model; cutting or windowing them is for the caller to decide.
    """

    def __init__(self, path: str | Path, freeze: bool = False, layers: str | int = "last") -> None:
        super().__init__()
        self.path = Path(path)
        self.model = load_model(path)
        config = self.model.config
        self.output_dim: int = config.hidden_size
        self.max_pieces = _max_pieces(config)
        num_states = config.num_hidden_layers + 1  # + the embedding layer's output
        self.layers = _check_layers(layers, num_states, self.path)
        self.mix = ScalarMix(num_states, self.output_dim) if layers == "mix" else None
        self.frozen = freeze
        if freeze:
            self.model.requires_grad_(False)
        # from_pretrained returns the model in eval mode; follow this module's mode instead
        self.train(self.training)

    def train(self, mode: bool = True) -> Self:
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def forward(
        self,
        piece_ids: torch.Tensor,
        piece_mask: torch.Tensor,
        language_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        # language_ids is accepted so that this encoder can replace the others, and ignored:
        # Hugging Face models in general have no language embeddings (only the old XLM models do,
        # and multilingual models such as XLM-R and mBERT were trained without them).
        del language_ids
        all_states = self.layers != "last"
        # a frozen transformer needs no graph; the mix above it still gets its gradient
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            output = self.model(
                input_ids=piece_ids,
                attention_mask=piece_mask.long(),
                output_hidden_states=all_states,
            )
        if self.mix is not None:
            mixed: torch.Tensor = self.mix(output.hidden_states)
            return mixed
        if isinstance(self.layers, int):
            chosen: torch.Tensor = output.hidden_states[self.layers]
            return chosen
        last: torch.Tensor = output.last_hidden_state
        return last


def _check_layers(layers: str | int, num_states: int, path: Path) -> str | int:
    if isinstance(layers, str):
        if layers not in ("last", "mix"):
            raise ConfigError(f"layers must be 'last', 'mix' or a layer index, got {layers!r}")
        return layers
    if isinstance(layers, bool) or not -num_states <= layers < num_states:
        raise ConfigError(
            f"layers={layers!r}: the model in {path} has {num_states} hidden states "
            f"(the embedding layer and {num_states - 1} transformer layers), so the index must be "
            f"between {-num_states} and {num_states - 1}"
        )
    return layers


def _max_pieces(config: Any) -> int | None:
    positions: int | None = getattr(config, "max_position_embeddings", None)
    if positions is None:
        return None
    if getattr(config, "model_type", None) in OFFSET_POSITIONS:
        return positions - (config.pad_token_id + 1)
    return positions


class HuggingFacePieces:
    """Splits pre-tokenised words into the model's pieces (the ``WordPieces`` protocol).

    Needs a fast tokenizer (one saved with a tokenizer.json): only those say which word each piece
    came from.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tokenizer = load_tokenizer(path)
        if not self.tokenizer.is_fast:
            raise ModelArchiveError(
                f"{self.path}: the tokenizer is a slow (Python) tokenizer, which cannot map pieces back "
                "to words; expected a fast tokenizer, saved with a tokenizer.json"
            )
        if self.tokenizer.pad_token_id is None:
            raise ModelArchiveError(f"{self.path}: the tokenizer has no padding token")
        self.pad_id: int = self.tokenizer.pad_token_id

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Piece ids of a pre-tokenised sentence including the model's special tokens
        ([CLS] ... [SEP] or <s> ... </s>), and for each piece the index of the word it
        belongs to, -1 for special tokens."""
        words = list(words)
        pieces, owners = self._encode(words)
        dropped = set(range(len(words))) - set(owners)
        if dropped:
            # Words that give no pieces at all (control characters, empty strings) would leave
            # their label with no vector; they become the unknown token, which always gives one.
            if self.tokenizer.unk_token is None:
                raise DataError(
                    None,
                    None,
                    f"the words {sorted(words[i] for i in dropped)!r} give no pieces and the "
                    f"tokenizer in {self.path} has no unknown token to stand in for them",
                )
            words = [self.tokenizer.unk_token if i in dropped else w for i, w in enumerate(words)]
            pieces, owners = self._encode(words)
        return pieces, owners

    def _encode(self, words: list[str]) -> tuple[list[int], list[int]]:
        encoding = self.tokenizer(words, is_split_into_words=True, add_special_tokens=True)
        owners = [-1 if word is None else word for word in encoding.word_ids()]
        return list(encoding["input_ids"]), owners
