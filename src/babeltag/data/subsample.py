"""Low-resource settings: keep the labels of a few training sentences and treat the rest as raw text."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from babeltag.data.example import Example
from babeltag.errors import ConfigError


def sample_labelled(
    examples: Sequence[Example],
    sentences: int | None = None,
    rate: float | None = None,
    seed: int = 1,
    source: str = "dataset",
) -> tuple[list[Example], list[Example]]:
    """(labelled, unlabelled): ``sentences`` examples, or ``round(rate * len(examples))`` (at least
    one), drawn without replacement by ``random.Random(seed)``, and the rest without their labels.

    Both lists keep the examples' order in the file. The labelled ones are the input objects; the
    unlabelled ones are new Examples with ``labels`` and ``label`` None and everything else copied,
    so the input is never changed. With neither ``sentences`` nor ``rate``, everything is labelled.
    ``source`` names the dataset in error messages (e.g. ``"datasets.ner_nl"``).
    """
    if sentences is not None and rate is not None:
        raise ConfigError(f"{source}: give labelled_sentences or labelling_rate, not both")
    available = len(examples)
    if sentences is None and rate is None:
        return list(examples), []
    if rate is not None:
        if not 0 < rate <= 1:
            raise ConfigError(f"{source}: labelling_rate must be in (0, 1], got {rate}")
        count = max(1, round(rate * available))
        if count > available:
            raise ConfigError(f"{source}: labelling_rate is {rate} but the training file has no sentences")
    else:
        assert sentences is not None
        if sentences < 1:
            raise ConfigError(f"{source}: labelled_sentences must be at least 1, got {sentences}")
        if sentences > available:
            raise ConfigError(
                f"{source}: labelled_sentences is {sentences} but the training file has {available} sentences"
            )
        count = sentences

    chosen = set(random.Random(seed).sample(range(available), count))
    labelled = [example for i, example in enumerate(examples) if i in chosen]
    unlabelled = [_without_labels(example) for i, example in enumerate(examples) if i not in chosen]
    return labelled, unlabelled


def _without_labels(example: Example) -> Example:
    return dataclasses.replace(
        example, tokens=list(example.tokens), labels=None, label=None, meta=dict(example.meta)
    )
