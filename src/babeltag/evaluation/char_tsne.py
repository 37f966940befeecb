"""Where the character encoder puts words: a t-SNE map of character-level word representations of
two (or more) languages, as in Yang et al. (2016)'s figure of country names in English and Spanish.

With a character encoder shared across languages, words that are spelled alike (names, cognates,
loanwords) land together whatever their language; with one encoder per language they need not.
The representations are what the tagger's word encoder receives from the character side (after the
highway layers, if any), computed for each word alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import normaliser_of
from babeltag.data.example import Example
from babeltag.errors import ConfigError
from babeltag.evaluation.plots import new_figure, save_png
from babeltag.models.archive import LoadedModel


def frequent_words(loaded: LoadedModel, count: int, min_chars: int = 3) -> list[str]:
    """The ``count`` most frequent training words with at least ``min_chars`` letters (the word
    vocabulary is ordered by training frequency; punctuation and numbers say little here)."""
    words = [w for w in loaded.vocabularies.words.itos if len(w) >= min_chars and w.isalpha()]
    return words[:count]


@torch.no_grad()
def char_representations(loaded: LoadedModel, words: Sequence[str]) -> np.ndarray:
    """``[len(words), D]``: the model's character-level representation of each word."""
    model = loaded.model
    if model.char_features is None:
        raise ConfigError(f"the {loaded.dataset or 'model'}'s model has no character encoder to map")
    example = Example(tokens=list(words), language=loaded.config.data.language, task=loaded.config.data.task)
    data = TensorDataset([example], loaded.vocabularies, normaliser_of(loaded.config), label_kind=None)
    batch = data.batch([0]).to(next(model.parameters()).device)
    model.eval()
    vectors = model.char_features(batch.char_ids, batch.char_lengths, batch.word_types)[0]
    return vectors.float().cpu().numpy()


def tsne(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-d t-SNE coordinates (scikit-learn), perplexity capped for small samples."""
    from sklearn.manifold import TSNE

    if len(vectors) < 5:
        raise ConfigError(f"t-SNE needs at least 5 words, got {len(vectors)}")
    perplexity = min(30.0, (len(vectors) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(vectors)


def char_tsne_plot(
    words: Mapping[str, Sequence[str]],
    points: np.ndarray,
    path: str | Path,
    labelled: int = 25,
    title: str = "",
) -> Path:
    """One colour per language; the first ``labelled`` words of each are written beside their dot."""
    figure = new_figure(7.5, 6.5, path)
    axes = figure.add_subplot(1, 1, 1)
    start = 0
    for language, language_words in words.items():
        xy = points[start : start + len(language_words)]
        start += len(language_words)
        dots = axes.scatter(xy[:, 0], xy[:, 1], s=12, alpha=0.7, label=language)
        for word, (x, y) in list(zip(language_words, xy, strict=True))[:labelled]:
            axes.annotate(word, (x, y), fontsize=7, color=dots.get_facecolor()[0], alpha=0.9)
    axes.legend(title="language")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title or "character-level word representations (t-SNE)")
    return save_png(figure, path)


def map_languages(
    models: Mapping[str, LoadedModel], path: str | Path, words_per_language: int = 150, seed: int = 0
) -> dict[str, list[str]]:
    """t-SNE of each model's frequent words through its own character encoder (the same module when
    the models share it), all in one map; returns the words drawn per language."""
    words: dict[str, list[str]] = {}
    vectors = []
    for name, loaded in models.items():
        chosen = frequent_words(loaded, words_per_language)
        if not chosen:
            raise ConfigError(f"{name}: no alphabetic training words to map")
        words[name] = chosen
        vectors.append(char_representations(loaded, chosen))
    dims = {name: v.shape[1] for name, v in zip(models, vectors, strict=True)}
    if len(set(dims.values())) > 1:
        raise ConfigError(f"the character encoders differ in size ({dims}); they cannot share one map")
    char_tsne_plot(words, tsne(np.concatenate(vectors)), path)
    return words
