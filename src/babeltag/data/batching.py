"""Examples -> tensors. Length bucketing, padding masks, and one character encoding per word type.

Two decisions make training fast on a CPU:

* each dataset keeps a table of its distinct word *types* with their character ids computed once,
  so a batch only gathers rows of a precomputed matrix instead of re-reading strings; and
* a batch carries the characters of its *unique* words only (``char_ids``), plus ``word_types``
  saying which unique word sits at each position. The character encoder then runs once per
  distinct word in the batch (about a third of the tokens in running text) instead of once per token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from babeltag.data.example import Example
from babeltag.data.normalise import Normaliser
from babeltag.data.vocab import Vocabulary

if TYPE_CHECKING:  # subwords imports mixing, which imports this module
    from babeltag.data.subwords import WordPieces


@dataclass
class Batch:
    """A padded mini-batch of B sentences of at most T tokens, U unique words of at most L chars."""

    word_ids: torch.Tensor  # [B, T] word-vocabulary ids, 0 = <pad>
    mask: torch.Tensor  # [B, T] True on real tokens
    char_ids: torch.Tensor  # [U, L] character ids of the batch's unique words, 0 = <pad>
    char_lengths: torch.Tensor  # [U] characters per unique word (>= 1)
    word_types: torch.Tensor  # [B, T] row of char_ids for each position (0 on padding)
    label_ids: torch.Tensor | None  # [B, T] tag ids (sequence labelling) or [B] class ids
    indices: list[int]  # positions of the sentences in their dataset, to restore input order
    # with a subword encoder (``Vocabularies.pieces``): S pieces per sentence, the word of each
    piece_ids: torch.Tensor | None = None  # [B, S] piece ids, 0 = <pad>
    piece_words: torch.Tensor | None = None  # [B, S] word index of each piece, -1 = special / pad
    piece_mask: torch.Tensor | None = None  # [B, S] True on real pieces (the pad id is the tokenizer's)
    languages: list[str] | None = None  # [B] each sentence's language (for language embeddings)

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(dim=1)

    def __len__(self) -> int:
        return len(self.indices)

    def to(self, device: torch.device | str) -> Batch:
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=True)

        return Batch(
            word_ids=move(self.word_ids),
            mask=move(self.mask),
            char_ids=move(self.char_ids),
            char_lengths=move(self.char_lengths),
            word_types=move(self.word_types),
            label_ids=None if self.label_ids is None else move(self.label_ids),
            indices=self.indices,
            piece_ids=None if self.piece_ids is None else move(self.piece_ids),
            piece_words=None if self.piece_words is None else move(self.piece_words),
            piece_mask=None if self.piece_mask is None else move(self.piece_mask),
            languages=self.languages,
        )


@dataclass(frozen=True)
class Vocabularies:
    """The symbol tables a model is trained with (saved with it)."""

    words: Vocabulary
    chars: Vocabulary
    labels: Vocabulary
    pieces: WordPieces | None = None  # a subword encoder's tokenizer (saved with the encoder)


class TensorDataset:
    """A list of examples turned into id arrays once, ready to be cut into batches.

    ``label_kind`` is ``"token"`` for sequence labelling (one label per token), ``"sentence"``
    for classification, or ``None`` to ignore labels (prediction, evaluation).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        vocabularies: Vocabularies,
        normaliser: Normaliser,
        label_kind: str | None,
    ) -> None:
        self.examples = examples
        self.label_kind = label_kind
        type_of: dict[str, int] = {"": 0}  # type 0 is the padding word
        type_chars: list[list[int]] = [[0]]
        chars = vocabularies.chars
        words = vocabularies.words
        # a token string always gets the same (word id, type id): normalise and look it up once
        ids_of: dict[str, tuple[int, int]] = {}
        self.word_ids: list[np.ndarray] = []
        self.type_ids: list[np.ndarray] = []
        self.label_ids: list[np.ndarray] = []
        for example in examples:
            both = []
            for token in example.tokens:
                found = ids_of.get(token)
                if found is None:
                    form = normaliser.chars(token) or " "
                    type_id = type_of.get(form)
                    if type_id is None:
                        type_id = type_of[form] = len(type_chars)
                        type_chars.append([chars.id(c) for c in form])
                    found = ids_of[token] = (words.id(normaliser.word(token)), type_id)
                both.append(found)
            pairs = np.array(both, dtype=np.int64).reshape(len(both), 2)
            self.word_ids.append(pairs[:, 0].copy())
            self.type_ids.append(pairs[:, 1].copy())
            if label_kind == "token":
                assert example.labels is not None, example.origin
                self.label_ids.append(np.array([vocabularies.labels.id(t) for t in example.labels], np.int64))
            elif label_kind == "sentence":
                assert example.label is not None, example.origin
                self.label_ids.append(np.array([vocabularies.labels.id(example.label)], np.int64))
        max_chars = max(len(c) for c in type_chars)
        self.type_char_matrix = np.zeros((len(type_chars), max_chars), dtype=np.int64)
        self.type_char_lengths = np.zeros(len(type_chars), dtype=np.int64)
        for type_id, ids in enumerate(type_chars):
            self.type_char_matrix[type_id, : len(ids)] = ids
            self.type_char_lengths[type_id] = len(ids)
        self.lengths = np.array([len(e.tokens) for e in examples], dtype=np.int64)
        self.piece_ids: list[np.ndarray] = []
        self.piece_words: list[np.ndarray] = []
        if vocabularies.pieces is not None:
            for example in examples:
                ids, word_index = vocabularies.pieces.encode_words(example.tokens)
                self.piece_ids.append(np.asarray(ids, dtype=np.int64))
                self.piece_words.append(np.asarray(word_index, dtype=np.int64))
            self.piece_pad = vocabularies.pieces.pad_id

    def __len__(self) -> int:
        return len(self.examples)

    def batch(self, indices: Sequence[int]) -> Batch:
        indices = list(indices)
        lengths = self.lengths[indices]
        B, T = len(indices), int(lengths.max()) if len(indices) else 0
        word_ids = np.zeros((B, T), dtype=np.int64)
        type_ids = np.zeros((B, T), dtype=np.int64)
        for row, index in enumerate(indices):
            n = lengths[row]
            word_ids[row, :n] = self.word_ids[index]
            type_ids[row, :n] = self.type_ids[index]
        # unique types of the batch; row 0 of char_ids is the padding type, so padding maps to 0
        unique, inverse = np.unique(type_ids, return_inverse=True)
        if unique[0] != 0:  # no padding in this batch: still keep row 0 for it
            unique = np.concatenate([[0], unique])
            inverse = inverse + 1
        char_lengths = self.type_char_lengths[unique]
        char_ids = self.type_char_matrix[unique, : int(char_lengths.max())]
        mask = np.arange(T)[None, :] < lengths[:, None]
        label_ids = None
        if self.label_kind == "token":
            labels = np.zeros((B, T), dtype=np.int64)
            for row, index in enumerate(indices):
                labels[row, : lengths[row]] = self.label_ids[index]
            label_ids = torch.from_numpy(labels)
        elif self.label_kind == "sentence":
            label_ids = torch.from_numpy(np.concatenate([self.label_ids[i] for i in indices]))
        pieces = self._pieces(indices) if self.piece_ids else None
        return Batch(
            word_ids=torch.from_numpy(word_ids),
            mask=torch.from_numpy(mask),
            char_ids=torch.from_numpy(np.ascontiguousarray(char_ids)),
            char_lengths=torch.from_numpy(char_lengths),
            word_types=torch.from_numpy(inverse.reshape(B, T)),
            label_ids=label_ids,
            indices=indices,
            piece_ids=None if pieces is None else pieces[0],
            piece_words=None if pieces is None else pieces[1],
            piece_mask=None if pieces is None else pieces[2],
            languages=None if pieces is None else [self.examples[i].language for i in indices],
        )

    def _pieces(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded piece ids, the word of each piece, and the mask of real pieces ``[B, S]``."""
        piece_lengths = np.array([len(self.piece_ids[i]) for i in indices], dtype=np.int64)
        B, S = len(indices), int(piece_lengths.max())
        piece_ids = np.full((B, S), self.piece_pad, dtype=np.int64)
        piece_words = np.full((B, S), -1, dtype=np.int64)
        for row, index in enumerate(indices):
            piece_ids[row, : piece_lengths[row]] = self.piece_ids[index]
            piece_words[row, : piece_lengths[row]] = self.piece_words[index]
        piece_mask = np.arange(S)[None, :] < piece_lengths[:, None]
        return torch.from_numpy(piece_ids), torch.from_numpy(piece_words), torch.from_numpy(piece_mask)


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, generator: np.random.Generator | None, pool_batches: int = 50
) -> list[list[int]]:
    """Cut sentence indices into batches of similar length.

    For training (``generator`` given) the order is shuffled, then each pool of ``pool_batches``
    batches is sorted by length and cut, and the batches are shuffled: little padding, yet a
    different mix every epoch. Without a generator (evaluation) all sentences are sorted by length.
    """
    order = np.arange(len(lengths))
    if generator is None:
        order = order[np.argsort(lengths, kind="stable")]
        return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    generator.shuffle(order)
    batches: list[list[int]] = []
    pool = batch_size * pool_batches
    for start in range(0, len(order), pool):
        chunk = order[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size].tolist() for i in range(0, len(chunk), batch_size))
    generator.shuffle(batches)
    return batches


def iterate_batches(
    dataset: TensorDataset, batch_size: int, generator: np.random.Generator | None = None
) -> Iterator[Batch]:
    for indices in bucketed_batches(dataset.lengths, batch_size, generator):
        yield dataset.batch(indices)
