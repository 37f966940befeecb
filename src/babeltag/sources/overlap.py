"""What a source corpus and a target corpus have in common: the dataset-dependent signals for ranking sources.

Typology says how alike two languages are; these signals say how alike two *datasets* are, which is
what transfer results depend on as well (Lin et al. 2019, "Choosing Transfer Languages for
Cross-Lingual Learning"): how many of the target's running words, subwords, character n-grams and
named entities also occur in the source data, how big the source data is, and whether both are
written in one script.

Each corpus is read once into a :class:`CorpusProfile` (counts only), and every pair is compared from
the profiles, so ranking n sources for m targets reads n + m corpora, not n * m. Overlaps are
*coverage* of the target by the source (asymmetric, on purpose): what matters for transfer is how much
of the target text the model has seen while training on the source, not how much of the source is
useful elsewhere. :func:`type_jaccard` is there for the symmetric view.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from babeltag.data.example import Example
from babeltag.data.scripts import dominant_script
from babeltag.data.tag_schemes import TagSchemeError, normalize_scheme, to_spans
from babeltag.errors import BabeltagError

#: Tag schemes whose labels write spans; under "none" (POS tags, ...) a corpus has no entities.
SPAN_SCHEMES = ("iob1", "iob2", "bioes")
#: The padding around a word before its character n-grams are taken, so that prefixes and suffixes
#: ("<un", "ed>") are n-grams of their own, as in fastText.
WORD_START, WORD_END = "<", ">"
#: The shared BPE vocabulary's unknown unit: a character no corpus of the vocabulary had.
UNK = "[UNK]"
# Repetitions of one word per string fed to the BPE trainer: bounds the size of one string when a
# frequent word is repeated thousands of times.
_REPEATS_PER_STRING = 1024


class OverlapError(BabeltagError):
    """Arguments that no overlap can be computed with: an n-gram length below 1, a negative sample size."""


@dataclass
class CorpusProfile:
    """What the signals need from one language's text; built once per corpus, compared many times."""

    language: str
    sentences: int
    tokens: int
    #: Word forms, casefolded, counted over running tokens.
    words: Counter[str]
    #: Character n-grams of each casefolded word padded with "<" and ">", counted over running tokens.
    char_ngrams: Counter[str]
    #: Surface strings of labelled spans (tokens joined by one space, casefolded); empty unless NER.
    entities: Counter[str]
    #: The dominant script of all tokens (see :func:`babeltag.data.scripts.dominant_script`).
    script: str


# --- reading a corpus ----------------------------------------------------------------------------------


def char_ngrams(word: str, n: int) -> list[str]:
    """The character n-grams of ``word`` padded with "<" and ">"; a padded word shorter than n is one
    n-gram of its own ("<a>" for n=3), so that no word, however short, goes uncounted."""
    padded = f"{WORD_START}{word}{WORD_END}"
    if len(padded) <= n:
        return [padded]
    return [padded[i : i + n] for i in range(len(padded) - n + 1)]


def _entities(example: Example, scheme: str, index: int) -> list[str]:
    """The casefolded surface strings of the spans that ``example``'s labels write under ``scheme``."""
    if example.labels is None:
        return []
    try:
        spans = to_spans(example.labels, scheme)
    except TagSchemeError as error:
        where = example.origin or f"{example.language} sentence {index + 1}"
        raise TagSchemeError(f"{where}: {error}", index=error.index) from error
    return [" ".join(example.tokens[start:end]).casefold() for _, start, end in spans]


def profile_corpus(
    examples: Iterable[Example],
    language: str,
    tag_scheme: str = "none",
    ngram: int = 3,
    max_sentences: int | None = None,
) -> CorpusProfile:
    """Count what the overlap signals need from ``examples`` (read once, so a generator will do).

    Entities are collected only when ``tag_scheme`` writes spans (IOB1, IOB2, BIOES) and an example
    has labels. ``max_sentences`` keeps the first that many examples, for comparing sources at the
    size they would be trained at.
    """
    if ngram < 1:
        raise OverlapError(f"character n-grams need n >= 1, got {ngram}")
    if max_sentences is not None and max_sentences < 0:
        raise OverlapError(f"max_sentences must be >= 0 or None, got {max_sentences}")
    scheme = normalize_scheme(tag_scheme)
    with_entities = scheme in SPAN_SCHEMES

    sentences, tokens = 0, 0
    words: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    for index, example in enumerate(itertools.islice(examples, max_sentences)):
        sentences += 1
        tokens += len(example.tokens)
        words.update(token.casefold() for token in example.tokens)
        if with_entities:
            entities.update(_entities(example, scheme, index))

    # n-grams per word type, weighted by its count: the same numbers as per running token, far fewer calls.
    ngrams: Counter[str] = Counter()
    for word, count in words.items():
        for gram in char_ngrams(word, ngram):
            ngrams[gram] += count
    # Casefolding keeps every letter in its script, so the casefolded running words give the script
    # of the tokens as written.
    script = dominant_script(words.elements())
    return CorpusProfile(language, sentences, tokens, words, ngrams, entities, script)


# --- comparing counts ----------------------------------------------------------------------------------


def coverage(source: Counter[str], target: Counter[str]) -> float:
    """The share of the target's running occurrences whose type occurs in ``source``; 0.0 for an empty
    target. Types with a count of zero or below do not occur."""
    target = +target  # unary plus drops the counts <= 0
    total = sum(target.values())
    if total == 0:
        return 0.0
    return sum(count for item, count in target.items() if source[item] > 0) / total


def type_jaccard(source: Counter[str], target: Counter[str]) -> float:
    """Shared types over all types of either (the symmetric view); 0.0 when both are empty."""
    source_types = {item for item, count in source.items() if count > 0}
    target_types = {item for item, count in target.items() if count > 0}
    union = source_types | target_types
    return len(source_types & target_types) / len(union) if union else 0.0


def word_overlap(source: CorpusProfile, target: CorpusProfile) -> float:
    """The share of the target's running words (casefolded) that occur in the source."""
    return coverage(source.words, target.words)


def char_ngram_overlap(source: CorpusProfile, target: CorpusProfile) -> float:
    """The share of the target's running character n-grams that occur in the source: word overlap that
    survives inflection and spelling differences between related languages."""
    return coverage(source.char_ngrams, target.char_ngrams)


def entity_overlap(source: CorpusProfile, target: CorpusProfile) -> float | None:
    """The share of the target's entity mentions whose surface string is an entity in the source; None
    when the target has no entities (not NER), so that "no signal" is not read as "no overlap"."""
    if not target.entities:
        return None
    return coverage(source.entities, target.entities)


# --- subwords ------------------------------------------------------------------------------------------


def _balanced_counts(profiles: Sequence[CorpusProfile], seed_words: int | None) -> list[Counter[str]]:
    """Each profile's word counts scaled to one budget of running words, every word type kept at least once.

    Without this, BPE merges follow raw frequency, so the biggest corpus would own the merges and every
    smaller language would be cut into short pieces that look alike whether or not the languages are:
    the overlap would measure corpus sizes. The budget is the smallest non-empty corpus's running words
    (or ``seed_words``, if smaller, to bound training time). Each type keeps at least one occurrence so
    that every character of every corpus is in the vocabulary and nothing becomes [UNK].
    """
    totals = [sum(profile.words.values()) for profile in profiles]
    budget = min((total for total in totals if total > 0), default=0)
    if seed_words is not None:
        budget = min(budget, seed_words)
    scaled = []
    for profile, total in zip(profiles, totals, strict=True):
        scale = budget / total if total else 0.0
        scaled.append(Counter({word: max(1, round(count * scale)) for word, count in profile.words.items()}))
    return scaled


def _training_text(counts: Iterable[Counter[str]]) -> Iterator[str]:
    """Each word repeated by its count, as whitespace-separated strings of bounded length."""
    for counter in counts:
        for word, count in counter.items():
            for start in range(0, count, _REPEATS_PER_STRING):
                yield " ".join(itertools.repeat(word, min(_REPEATS_PER_STRING, count - start)))


class SharedSubwords:
    """One BPE vocabulary learned over every corpus being compared (as mBERT/XLM learn one over all their
    languages), so that subword overlap between any two is measured in the same units.

    ``seed_words`` caps the running words each language contributes to training (see
    :func:`_balanced_counts`); None uses the smallest corpus's size.
    """

    def __init__(
        self, profiles: Sequence[CorpusProfile], vocab_size: int = 8000, seed_words: int | None = None
    ) -> None:
        if vocab_size < 1:
            raise OverlapError(f"vocab_size must be >= 1, got {vocab_size}")
        if seed_words is not None and seed_words < 1:
            raise OverlapError(f"seed_words must be >= 1 or None, got {seed_words}")
        self.tokenizer = Tokenizer(models.BPE(unk_token=UNK))
        self.tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[UNK], show_progress=False)
        self.tokenizer.train_from_iterator(_training_text(_balanced_counts(profiles, seed_words)), trainer)
        # word -> its units: corpora share most word types, and each profile is counted many times.
        self._pieces: dict[str, list[str]] = {}

    def pieces(self, words: Iterable[str]) -> list[list[str]]:
        """The subword units of each word, tokenizing only words not seen before."""
        wanted = list(words)
        new = list(dict.fromkeys(word for word in wanted if word not in self._pieces))
        if new:
            encodings = self.tokenizer.encode_batch(new, add_special_tokens=False)
            self._pieces.update(zip(new, (encoding.tokens for encoding in encodings), strict=True))
        return [self._pieces[word] for word in wanted]

    def counts(self, profile: CorpusProfile) -> Counter[str]:
        """The subword units of the profile's running words: each word type's units times its count."""
        units: Counter[str] = Counter()
        for count, pieces in zip(profile.words.values(), self.pieces(profile.words), strict=True):
            for piece in pieces:
                units[piece] += count
        return units


def subword_overlap(shared: SharedSubwords, source: CorpusProfile, target: CorpusProfile) -> float:
    """The share of the target's running subword units that occur in the source, in ``shared``'s units."""
    source_units = shared.counts(source)
    # [UNK] in both corpora means both have characters the vocabulary lacks, not that they share one.
    source_units.pop(UNK, None)
    return coverage(source_units, shared.counts(target))


def signals_between(
    source: CorpusProfile, target: CorpusProfile, shared: SharedSubwords | None
) -> dict[str, float | None]:
    """Every dataset-dependent signal for transferring from ``source`` to ``target``, by name. A signal
    that does not apply (no shared vocabulary, a target without entities) is None."""
    return {
        "word_overlap": word_overlap(source, target),
        "subword_overlap": None if shared is None else subword_overlap(shared, source, target),
        "char_ngram_overlap": char_ngram_overlap(source, target),
        "entity_overlap": entity_overlap(source, target),
        "source_sentences": float(source.sentences),
        "source_tokens": float(source.tokens),
        "same_script": 1.0 if source.script == target.script else 0.0,
    }
