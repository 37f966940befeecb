"""The Python API: load a trained model, give it text, get labels back.

    import babeltag

    tagger = babeltag.load("runs/ner/model")
    [sentence] = tagger.tag(["Juan Carlos visita Madrid."])
    sentence.tokens   # ['Juan', 'Carlos', 'visita', 'Madrid', '.']
    sentence.labels   # ['B-PER', 'I-PER', 'O', 'B-LOC', 'O']
    sentence.spans    # [('PER', 0, 2), ('LOC', 3, 4)]
    sentence.scores   # how sure the model is of each label, see Tagged

A classification model loads as a :class:`Classifier` with ``classify``. Both run the same
prediction code as ``babeltag predict`` and ``babeltag evaluate`` (:mod:`babeltag.models.predict`):
batches sorted by length, results in input order. See docs/api.md.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from babeltag.data import tag_schemes
from babeltag.data.datasets import normaliser_of
from babeltag.data.example import Example
from babeltag.models.archive import LoadedModel, load_model
from babeltag.models.build import training_scheme
from babeltag.models.predict import predict_labels_with_scores
from babeltag.training.devices import resolve_device

Tokenizer = Callable[[str], list[str]]


def _is_punctuation(char: str) -> bool:
    # Unicode punctuation (P*) and symbols (S*: $, %, +, ©); letters, digits and marks are not
    return unicodedata.category(char)[0] in "PS"


def split_punctuation(text: str) -> list[str]:
    """The default tokenizer of :class:`Tagger`: split at whitespace, then split punctuation off the
    start and end of each piece, one character per token.

    ``"Hello, (big) world!"`` -> ``Hello , ( big ) world !``. Punctuation inside a piece stays, so
    ``don't``, ``Jean-Pierre``, ``3.5`` and ``U.S`` are one token each (and ``U.S.`` is ``U.S`` and
    ``.``). This is roughly how CoNLL and UD files are tokenized; for anything better pass your own
    ``tokenizer`` (any ``str -> list[str]``).
    """
    tokens: list[str] = []
    for piece in text.split():
        start, end = 0, len(piece)
        while start < end and _is_punctuation(piece[start]):
            start += 1
        while end > start and _is_punctuation(piece[end - 1]):
            end -= 1
        tokens.extend(piece[:start])
        if start < end:
            tokens.append(piece[start:end])
        tokens.extend(piece[end:])
    return tokens


def whitespace(text: str) -> list[str]:
    """The default tokenizer of :class:`Classifier`: split at whitespace, as the CSV reader splits the
    texts a classifier is trained on."""
    return text.split()


@dataclass
class Tagged:
    """One tagged sentence.

    ``spans`` are the labelled spans as ``(label, start, end)`` token offsets, ``end`` exclusive,
    read from ``labels`` in the data's tag scheme (IOB1/IOB2/BIOES); empty when the labels are not
    spans (POS tags: tag scheme "none").

    ``scores[i]`` is the model's probability of ``labels[i]``: for a softmax tagger its softmax
    probability, for a CRF tagger the marginal ``p(y_i = label | sentence)`` from forward-backward.
    The CRF's labels are the best *sequence* (Viterbi), so a token's marginal can be below 0.5, or
    below another label's. For a model trained in another scheme than its data's (BIOES for IOB2
    files) it is the probability of the label in the scheme the model decodes in (S-PER for B-PER).
    """

    tokens: list[str]
    labels: list[str]
    scores: list[float]
    spans: list[tuple[str, int, int]] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"{token}/{label}" for token, label in zip(self.tokens, self.labels, strict=True))


@dataclass
class Classified:
    """One classified text: the label, and the probability of every class, most probable first.

    A text without tokens (empty, or only spaces) has nothing to classify: ``label`` is None and
    ``probabilities`` is empty.
    """

    label: str | None
    probabilities: dict[str, float]


class _Predictor:
    """What :class:`Tagger` and :class:`Classifier` share: a loaded model, a tokenizer, a batch size."""

    def __init__(self, loaded: LoadedModel, tokenizer: Tokenizer, batch_size: int = 512) -> None:
        self.loaded = loaded
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @property
    def language(self) -> str:
        return self.loaded.config.data.language

    @property
    def task(self) -> str:
        return self.loaded.config.data.task

    @property
    def labels(self) -> list[str]:
        """Every label the model can give."""
        return list(self.loaded.vocabularies.labels.itos)

    def _run(self, sentences: Sequence[Sequence[str]]) -> list[tuple[list[str], list[float]] | None]:
        """Labels and scores per sentence, None for a sentence without tokens (which the model cannot
        encode: it is left out of the batches)."""
        if isinstance(sentences, str):
            raise TypeError("expected a list of sentences, got one string; wrap it in a list")
        config = self.loaded.config
        language, task = config.data.language, config.data.task
        examples, positions = [], []
        for position, tokens in enumerate(sentences):
            if isinstance(tokens, str):
                raise TypeError(f"sentence {position} is a string, not a list of tokens (use tag/classify)")
            if tokens:
                examples.append(Example(tokens=list(tokens), language=language, task=task))
                positions.append(position)
        results: list[tuple[list[str], list[float]] | None] = [None] * len(sentences)
        if examples:
            labels, scores = predict_labels_with_scores(
                self.loaded.model,
                examples,
                self.loaded.vocabularies,
                normaliser_of(config),
                training_scheme(config),
                config.data.tag_scheme,
                self.batch_size,
            )
            for position, row_labels, row_scores in zip(positions, labels, scores, strict=True):
                results[position] = (row_labels, row_scores)
        return results

    def _tokenize(self, texts: Sequence[str]) -> list[list[str]]:
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got one string; wrap it in a list")
        return [self.tokenizer(text) for text in texts]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, language={self.language!r}, labels={len(self.labels)})"


class Tagger(_Predictor):
    """A sequence-labelling model (POS, NER, chunking) behind two calls: ``tag`` for raw texts,
    ``tag_tokens`` for sentences already split into tokens."""

    def __init__(
        self, loaded: LoadedModel, tokenizer: Tokenizer = split_punctuation, batch_size: int = 512
    ) -> None:
        super().__init__(loaded, tokenizer, batch_size)

    @property
    def tag_scheme(self) -> str:
        """How the labels write spans: iob1, iob2, bioes, or none for labels that are not spans."""
        return self.loaded.config.data.tag_scheme

    def tag(self, texts: Sequence[str]) -> list[Tagged]:
        """Tokenize each text with ``self.tokenizer`` and tag it. An empty text gives a Tagged without tokens."""
        return self.tag_tokens(self._tokenize(texts))

    def tag_tokens(self, sentences: Sequence[Sequence[str]]) -> list[Tagged]:
        """Tag sentences given as lists of tokens, one Tagged per sentence, in order."""
        scheme = self.tag_scheme
        tagged = []
        for tokens, result in zip(sentences, self._run(sentences), strict=True):
            if result is None:
                tagged.append(Tagged(tokens=[], labels=[], scores=[]))
                continue
            labels, scores = result
            spans = tag_schemes.to_spans(labels, scheme) if scheme != "none" else []
            tagged.append(Tagged(tokens=list(tokens), labels=labels, scores=scores, spans=spans))
        return tagged


class Classifier(_Predictor):
    """A text classification model behind ``classify`` (raw texts) and ``classify_tokens``."""

    def __init__(self, loaded: LoadedModel, tokenizer: Tokenizer = whitespace, batch_size: int = 512) -> None:
        super().__init__(loaded, tokenizer, batch_size)

    def classify(self, texts: Sequence[str]) -> list[Classified]:
        """Tokenize each text with ``self.tokenizer`` and classify it."""
        return self.classify_tokens(self._tokenize(texts))

    def classify_tokens(self, sentences: Sequence[Sequence[str]]) -> list[Classified]:
        itos = self.loaded.vocabularies.labels.itos
        classified = []
        for result in self._run(sentences):
            if result is None:
                classified.append(Classified(label=None, probabilities={}))
                continue
            [label], distribution = result
            ranked = sorted(zip(itos, distribution, strict=True), key=lambda pair: -pair[1])
            classified.append(Classified(label=label, probabilities=dict(ranked)))
        return classified


def load(
    path: str | Path,
    dataset: str | None = None,
    *,
    tokenizer: Tokenizer | None = None,
    batch_size: int = 512,
    device: str = "cpu",
) -> Tagger | Classifier:
    """The model saved in ``path`` (a run's ``model/`` directory): a :class:`Tagger`, or a
    :class:`Classifier` for a classification model.

    ``dataset`` picks one dataset's model out of a multi-dataset model (default: its first target).
    ``tokenizer`` replaces the default one (:func:`split_punctuation` for taggers, :func:`whitespace`
    for classifiers); it can also be set later as the ``tokenizer`` attribute. ``device``: cpu,
    cuda, cuda:N or auto (a GPU when there is one); batches go wherever the model is.
    """
    loaded = load_model(path, dataset)
    loaded.model.to(resolve_device(device))
    if loaded.config.data.kind == "classification":
        return Classifier(loaded, tokenizer or whitespace, batch_size)
    return Tagger(loaded, tokenizer or split_punctuation, batch_size)
