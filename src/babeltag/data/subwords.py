"""A subword vocabulary shared by many languages (XLM, Lample and Conneau 2019).

Sentences of many languages -> temperature-sampled training text -> BPE or unigram pieces
(the ``tokenizers`` library). A tagged word becomes one or more pieces; ``encode_words`` says
which word each piece came from, so word-level labels survive the trip through a subword encoder
(see ``encoders/subword_pooling.py`` for the way back).

Why sample by temperature: with proportional sampling a language with a hundred times more text
gets a hundred times more merges and the small languages are cut into single characters. XLM
draws language i with ``q_i = p_i^alpha / sum_j p_j^alpha``; alpha < 1 flattens the distribution.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from babeltag.data.mixing import temperature
from babeltag.errors import ConfigError, ModelArchiveError

PAD, UNK, BOS, EOS, MASK = "<pad>", "<unk>", "<s>", "</s>", "<mask>"
SPECIALS = (PAD, UNK, BOS, EOS, MASK)  # ids 0..4 in this order
KINDS = ("bpe", "unigram")


class WordPieces(Protocol):
    """Pre-tokenised words -> subword piece ids, for any subword encoder (ours or Hugging Face)."""

    pad_id: int

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Piece ids of a sentence including the special tokens around it, and for each piece
        the index of the word it belongs to (-1 for special tokens). Every word gets >= 1 piece."""
        ...


# ---------------------------------------------------------------------------------------------
# temperature sampling of training sentences


@dataclass(frozen=True)
class LanguageShare:
    """One language's part of the text, before and after temperature sampling."""

    language: str
    sentences: int
    tokens: int
    share: float  # of all tokens, as the text comes
    sampled_sentences: int
    sampled_tokens: int
    sampled_share: float  # of all tokens, after sampling


def sample_by_temperature(
    corpus: Mapping[str, Sequence[Sequence[str]]],
    alpha: float,
    total: int | None,
    generator: np.random.Generator,
) -> tuple[dict[str, list[Sequence[str]]], list[LanguageShare]]:
    """Draw ``total`` sentences (default: as many as there are), language i with probability
    ``q_i`` computed from sentence counts; a language drawn more often than it has sentences is
    repeated (every sentence once before any twice). Returns the sample and the shares report."""
    languages = sorted(language for language, sentences in corpus.items() if sentences)
    if not languages:
        raise ConfigError("subword training: no sentences in any language")
    sizes = [len(corpus[language]) for language in languages]
    total = sum(sizes) if total is None else total
    q = temperature(sizes, alpha)
    counts = generator.multinomial(total, q)
    sample: dict[str, list[Sequence[str]]] = {}
    for language, count in zip(languages, counts, strict=True):
        sentences = corpus[language]
        order = np.concatenate(
            [generator.permutation(len(sentences)) for _ in range(-(-int(count) // len(sentences)))]
            or [np.zeros(0, dtype=np.int64)]
        )[: int(count)]
        sample[language] = [sentences[i] for i in order]
    return sample, _shares(corpus, sample, languages)


def _shares(
    corpus: Mapping[str, Sequence[Sequence[str]]],
    sample: Mapping[str, Sequence[Sequence[str]]],
    languages: Sequence[str],
) -> list[LanguageShare]:
    tokens = {language: sum(len(s) for s in corpus[language]) for language in languages}
    sampled = {language: sum(len(s) for s in sample[language]) for language in languages}
    all_tokens, all_sampled = sum(tokens.values()) or 1, sum(sampled.values()) or 1
    return [
        LanguageShare(
            language,
            len(corpus[language]),
            tokens[language],
            tokens[language] / all_tokens,
            len(sample[language]),
            sampled[language],
            sampled[language] / all_sampled,
        )
        for language in languages
    ]


def format_shares(shares: Sequence[LanguageShare]) -> str:
    """The shares report as a table for the log."""
    width = max([len("language"), *(len(s.language) for s in shares)]) + 2
    lines = [f"{'language':<{width}}{'sentences':>11}{'tokens':>12}{'share':>8}{'sampled':>12}{'share':>8}"]
    for s in shares:
        lines.append(
            f"{s.language:<{width}}{s.sentences:>11,}{s.tokens:>12,}{s.share:>8.1%}"
            f"{s.sampled_tokens:>12,}{s.sampled_share:>8.1%}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the vocabulary


class SubwordVocabulary:
    """BPE or unigram pieces with sentencepiece-style word boundaries ("▁" starts a word)."""

    pad_id = 0
    unk_id = 1
    bos_id = 2
    eos_id = 3
    mask_id = 4

    def __init__(self, tokenizer: Tokenizer) -> None:
        for expected, token in enumerate(SPECIALS):
            if tokenizer.token_to_id(token) != expected:
                raise ModelArchiveError(
                    f"subword vocabulary: special token {token!r} must have id {expected}, "
                    f"has {tokenizer.token_to_id(token)}"
                )
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return int(self.tokenizer.get_vocab_size())

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        encoding = self.tokenizer.encode(list(words), is_pretokenized=True, add_special_tokens=False)
        ids: list[int] = [self.bos_id]
        word_index: list[int] = [-1]
        previous = -1
        for piece, word in zip(encoding.ids, encoding.word_ids, strict=True):
            assert word is not None
            # a word the tokenizer drops entirely (only characters the normaliser removes)
            # still needs a piece, or its label would have no vector to come from
            for missing in range(previous + 1, word):
                ids.append(self.unk_id)
                word_index.append(missing)
            ids.append(piece)
            word_index.append(word)
            previous = word
        for missing in range(previous + 1, len(words)):
            ids.append(self.unk_id)
            word_index.append(missing)
        ids.append(self.eos_id)
        word_index.append(-1)
        return ids, word_index

    def encode_batch(self, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
        """Piece ids of many sentences at once (the tokenizer's parallel path), without special
        tokens and without the word alignment: what pretraining needs."""
        encodings = self.tokenizer.encode_batch(
            [list(s) for s in sentences], is_pretokenized=True, add_special_tokens=False
        )
        return [list(encoding.ids) for encoding in encodings]

    def pieces(self, words: Sequence[str]) -> list[str]:
        """The pieces as strings (for reading and for the overlap analyses)."""
        ids, _ = self.encode_words(words)
        return [self.tokenizer.id_to_token(i) or UNK for i in ids[1:-1]]

    def to_str(self) -> str:
        return str(self.tokenizer.to_str())

    @classmethod
    def from_str(cls, text: str) -> SubwordVocabulary:
        return cls(Tokenizer.from_str(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_str(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SubwordVocabulary:
        try:
            return cls(Tokenizer.from_file(str(path)))
        except Exception as error:  # tokenizers raises plain Exception on a bad file
            if isinstance(error, ModelArchiveError):
                raise
            raise ModelArchiveError(f"{path}: not a subword vocabulary file ({error})") from error


def _empty_tokenizer(kind: str, lowercase: bool) -> Tokenizer:
    if kind not in KINDS:
        raise ConfigError(f"subword vocabulary kind must be one of {KINDS}, got {kind!r}")
    tokenizer = Tokenizer(models.BPE(unk_token=UNK) if kind == "bpe" else models.Unigram())
    steps: list[normalizers.Normalizer] = [normalizers.NFC()]
    if lowercase:
        steps.append(normalizers.Lowercase())
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    return tokenizer


def _trainer(kind: str, vocab_size: int = 0, min_frequency: int = 2) -> trainers.Trainer:
    if kind == "bpe":
        return trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(SPECIALS),
            show_progress=False,
        )
    return trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIALS), unk_token=UNK, show_progress=False
    )


def train_subwords(
    corpus: Mapping[str, Sequence[Sequence[str]]],
    vocab_size: int,
    kind: str = "bpe",
    alpha: float = 0.5,
    sample_sentences: int | None = None,
    lowercase: bool = False,
    min_frequency: int = 2,
    seed: int = 0,
) -> tuple[SubwordVocabulary, list[LanguageShare]]:
    """Learn a shared vocabulary from temperature-sampled sentences of every language."""
    if vocab_size <= len(SPECIALS):
        raise ConfigError(f"subword vocab_size must exceed {len(SPECIALS)}, got {vocab_size}")
    sample, shares = sample_by_temperature(corpus, alpha, sample_sentences, np.random.default_rng(seed))
    tokenizer = _empty_tokenizer(kind, lowercase)
    trainer = _trainer(kind, vocab_size, min_frequency)

    def text() -> Iterator[str]:
        for sentences in sample.values():
            for sentence in sentences:
                yield " ".join(sentence)

    tokenizer.train_from_iterator(text(), trainer=trainer, length=sum(len(s) for s in sample.values()))
    return SubwordVocabulary(tokenizer), shares


def shares_to_json(shares: Sequence[LanguageShare]) -> str:
    return json.dumps([s.__dict__ for s in shares], indent=2)
