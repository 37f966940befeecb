"""Mapping monolingual embedding spaces into one: Procrustes, CSLS, refinement, adversarial training.

Convention used throughout: embeddings are **rows** (``X`` is ``[n_words, dim]``), a map is a
``[dim, dim]`` matrix ``W`` that acts on column vectors, ``y ≈ W x``, so a whole space is mapped as
``X @ W.T``. This is the convention of MUSE (Conneau et al., 2018), where ``W`` is the weight of a
``torch.nn.Linear`` without bias.

References:

* Schönemann (1966), A generalized solution of the orthogonal Procrustes problem. Psychometrika 31.
* Mikolov, Le, Sutskever (2013), Exploiting similarities among languages for machine translation.
* Xing, Wang, Liu, Lin (2015), Normalized word embedding and orthogonal transform for bilingual word
  translation. NAACL.
* Artetxe, Labaka, Agirre (2017), Learning bilingual word embeddings with (almost) no bilingual data.
  ACL. (VecMap; identical strings as seed dictionary; self-learning.)
* Artetxe, Labaka, Agirre (2018), A robust self-learning method for fully unsupervised cross-lingual
  mappings of word embeddings. ACL. (VecMap normalisation: unit, center, unit.)
* Smith, Turban, Hamblin, Hammerla (2017), Offline bilingual word vectors, orthogonal transformations
  and the inverted softmax. ICLR. (Identical strings as a pseudo-dictionary.)
* Cisse, Bojanowski, Grave, Dauphin, Usunier (2017), Parseval networks. ICML. (The orthogonality update.)
* Conneau, Lample, Ranzato, Denoyer, Jégou (2018), Word translation without parallel data. ICLR.
  (MUSE: adversarial training, CSLS, Procrustes refinement.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from babeltag.embeddings.vectors import WordVectors, word_index
from babeltag.errors import ConfigError

#: Rows of a similarity matrix computed at once: 1024 x 200,000 float32 is 820 MB.
BLOCK_SIZE = 1024

# ---------------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------------

NORMALISATION_STEPS = ("unit", "center", "unitdim")


def normalise(X: np.ndarray, steps: Sequence[str] = ("unit", "center", "unit")) -> np.ndarray:
    """Apply normalisation ``steps`` in order; returns a new float32 array.

    * ``"unit"``: every row to length 1, ``x / ||x||``, so that a dot product is a cosine (Xing et al.,
      2015). A zero row stays zero.
    * ``"center"``: subtract the mean row, ``x - mean(X)``, so that the dimensions have mean 0.
    * ``"unitdim"``: every column to variance 1 (VecMap's dimension-wise normalisation).

    The default, unit -> center -> unit, is VecMap's robust recipe (Artetxe et al., 2018): centering
    removes the common direction that all vectors of a space share and that no map could align, the
    second ``unit`` restores cosines.
    """
    X = np.array(X, dtype=np.float32)
    for step in steps:
        if step == "unit":
            norms = np.linalg.norm(X, axis=1, keepdims=True)
            X /= np.where(norms > 0, norms, 1)
        elif step == "center":
            X -= X.mean(axis=0, keepdims=True)
        elif step == "unitdim":
            deviations = X.std(axis=0, keepdims=True)
            X /= np.where(deviations > 0, deviations, 1)
        else:
            raise ConfigError(
                f"normalisation step must be one of {', '.join(NORMALISATION_STEPS)}, not {step!r}"
            )
    return X


def _unit_rows(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms > 0, norms, 1)).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------------
# Procrustes
# ---------------------------------------------------------------------------------------------------


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The orthogonal ``W`` that maps the rows of ``X`` onto the rows of ``Y`` (row ``i`` of ``X`` and
    row ``i`` of ``Y`` are a translation pair):

        W* = argmin_{W orthogonal} || X W^T - Y ||_F = U V^T,   where   U S V^T = SVD(Y^T X)

    (Schönemann, 1966; used for word translation by Xing et al., 2015 and Conneau et al., 2018).
    Map a space with ``X @ W.T``. Keeping ``W`` orthogonal keeps the monolingual cosines intact,
    which is why it generalises from a few thousand pairs to the whole vocabulary.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.shape != Y.shape or X.ndim != 2:
        raise ValueError(f"procrustes needs two [n, dim] arrays of one shape, got {X.shape} and {Y.shape}")
    U, _, Vt = np.linalg.svd(Y.T @ X)
    return (U @ Vt).astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Seed dictionaries
# ---------------------------------------------------------------------------------------------------


def identical_string_pairs(src_words: Sequence[str], tgt_words: Sequence[str]) -> list[tuple[int, int]]:
    """``(i, j)`` for every word spelled the same in both vocabularies: ``src_words[i] == tgt_words[j]``.

    Names, numbers and cognates make a seed dictionary without any bilingual resource (Artetxe et al.,
    2017; Smith et al., 2017). Pairs come in source order; a word listed twice counts at its first place.
    """
    target_index = word_index(tgt_words)
    pairs, seen = [], set()
    for i, word in enumerate(src_words):
        if word in target_index and word not in seen:
            pairs.append((i, target_index[word]))
            seen.add(word)
    return pairs


def dictionary_pairs(
    pairs: Iterable[tuple[str, str]], src_words: Sequence[str], tgt_words: Sequence[str]
) -> list[tuple[int, int]]:
    """Word pairs ``(source, target)`` -> row pairs ``(i, j)``. Pairs with a word missing from either
    vocabulary are dropped, repeated pairs kept once; the order of ``pairs`` is kept."""
    source_index, target_index = word_index(src_words), word_index(tgt_words)
    rows: dict[tuple[int, int], None] = {}
    for source, target in pairs:
        if source in source_index and target in target_index:
            rows[(source_index[source], target_index[target])] = None
    return list(rows)


# ---------------------------------------------------------------------------------------------------
# Nearest neighbours: cosine and CSLS
# ---------------------------------------------------------------------------------------------------


def mean_top_k_similarity(
    queries: np.ndarray, keys: np.ndarray, k: int, block_size: int = BLOCK_SIZE
) -> np.ndarray:
    """``r(q) = 1/k sum_{y in N_k(q)} cos(q, y)``: for every query row, the mean cosine of its ``k``
    nearest key rows (all of them if there are fewer). Computed ``block_size`` queries at a time so that
    memory stays ``block_size x len(keys)``."""
    queries, keys = _unit_rows(queries), _unit_rows(keys)
    k = min(k, len(keys))
    result = np.zeros(len(queries), dtype=np.float32)
    if k == 0:
        return result
    for start, similarities in _similarity_blocks(queries, keys, block_size):
        top = np.partition(similarities, -k, axis=1)[:, -k:]
        result[start : start + len(top)] = top.mean(axis=1)
    return result


def csls_scores(
    mapped_src: np.ndarray,
    tgt: np.ndarray,
    k: int = 10,
    rows: Sequence[int] | np.ndarray | None = None,
    block_size: int = BLOCK_SIZE,
) -> np.ndarray:
    """Cross-domain similarity local scaling (Conneau et al., 2018, eq. 6):

        CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y)

    where ``r_T(x)`` is the mean cosine of mapped source word ``x`` to its ``k`` nearest target words
    and ``r_S(y)`` the mean cosine of target word ``y`` to its ``k`` nearest mapped source words. Plain
    cosine favours "hubs", target words that are near everything; subtracting ``r_S(y)`` penalises
    them, and subtracting ``r_T(x)`` makes scores of words in dense and sparse regions comparable.

    Returns the ``[len(rows), len(tgt)]`` scores for the source ``rows`` (all by default). ``r_S`` is
    always taken over every source row; the neighbourhoods are computed in blocks, so the only large
    array is the result itself.
    """
    mapped_src, tgt = _unit_rows(mapped_src), _unit_rows(tgt)
    rows = np.arange(len(mapped_src)) if rows is None else np.asarray(rows, dtype=np.int64)
    queries = mapped_src[rows]
    r_target = mean_top_k_similarity(queries, tgt, k, block_size)  # r_T(x) for the rows asked for
    r_source = mean_top_k_similarity(tgt, mapped_src, k, block_size)  # r_S(y) for every target word
    scores = queries @ tgt.T
    scores *= 2
    scores -= r_target[:, None]
    scores -= r_source[None, :]
    return scores


def nearest(
    mapped_src: np.ndarray,
    tgt: np.ndarray,
    method: str = "csls",
    k: int = 1,
    csls_k: int = 10,
    rows: Sequence[int] | np.ndarray | None = None,
    block_size: int = BLOCK_SIZE,
) -> np.ndarray:
    """The ``k`` best target rows for each source row (``rows``, all by default), best first:
    ``[n_rows, k]`` indices into ``tgt``.

    ``method="nn"`` ranks by cosine, ``"csls"`` by :func:`csls_scores` with neighbourhood ``csls_k``.
    Ranking is done block by block, never holding all the scores.
    """
    if method not in ("nn", "csls"):
        raise ConfigError(f"method must be 'nn' or 'csls', not {method!r}")
    mapped_src, tgt = _unit_rows(mapped_src), _unit_rows(tgt)
    rows = np.arange(len(mapped_src)) if rows is None else np.asarray(rows, dtype=np.int64)
    k = min(k, len(tgt))
    queries = mapped_src[rows]
    # Rank by 2 cos(x, y) - r_S(y): r_T(x) is constant along a row and cannot change its ranking.
    # For plain cosine the penalty is zero.
    if method == "csls":
        r_source = mean_top_k_similarity(tgt, mapped_src, csls_k, block_size)
    else:
        r_source = np.zeros(len(tgt), dtype=np.float32)
    result = np.zeros((len(rows), k), dtype=np.int64)
    for start, similarities in _similarity_blocks(queries, tgt, block_size):
        result[start : start + len(similarities)] = _top_k(2 * similarities - r_source[None, :], k)
    return result


def _similarity_blocks(
    queries: np.ndarray, keys: np.ndarray, block_size: int
) -> Iterator[tuple[int, np.ndarray]]:
    for start in range(0, len(queries), block_size):
        yield start, queries[start : start + block_size] @ keys.T


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest scores of each row, largest first (ties: lower index first)."""
    if k == 0:
        return np.zeros((len(scores), 0), dtype=np.int64)
    candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    return np.take_along_axis(candidates, order, axis=1)


# ---------------------------------------------------------------------------------------------------
# Refinement: Procrustes on an induced dictionary, repeated
# ---------------------------------------------------------------------------------------------------


def induce_dictionary(
    mapped_src: np.ndarray, tgt: np.ndarray, method: str = "csls", max_rank: int = 15000, csls_k: int = 10
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of mutual nearest neighbours among the ``max_rank`` first (most frequent)
    words of each side: ``j`` is the best target of source ``i`` and ``i`` the best source of target
    ``j`` (MUSE's "S2T&T2S" dictionary). Rare words have poor vectors; leaving them out and keeping
    only mutual pairs makes a small but precise dictionary (Conneau et al., 2018, sec. 2.3)."""
    source, target = mapped_src[:max_rank], tgt[:max_rank]
    forward = nearest(source, target, method, k=1, csls_k=csls_k)[:, 0]
    backward = nearest(target, source, method, k=1, csls_k=csls_k)[:, 0]
    return [(i, int(j)) for i, j in enumerate(forward) if backward[j] == i]


def refine(
    X: np.ndarray,
    Y: np.ndarray,
    seed_pairs: Sequence[tuple[int, int]],
    iterations: int = 5,
    method: str = "csls",
    max_rank: int = 15000,
    csls_k: int = 10,
) -> np.ndarray:
    """Self-learning (Artetxe et al., 2017; Conneau et al., 2018, sec. 2.3): ``W = procrustes`` on the
    seed pairs, then ``iterations`` times: map ``X @ W.T``, induce a dictionary of mutual nearest
    neighbours (:func:`induce_dictionary`), and solve Procrustes again on it. Returns ``W``.

    ``X`` and ``Y`` should be normalised (:func:`normalise`) and sorted most frequent first.
    """
    if not seed_pairs:
        raise ConfigError("no seed pairs to start the alignment from")
    W = _procrustes_on(X, Y, seed_pairs)
    for _ in range(iterations):
        pairs = induce_dictionary(X @ W.T, Y, method, max_rank, csls_k)
        if not pairs:  # cannot happen with sensible input; keep the map we have rather than fail
            break
        W = _procrustes_on(X, Y, pairs)
    return W


def _procrustes_on(X: np.ndarray, Y: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    source, target = np.asarray(pairs, dtype=np.int64).T
    return procrustes(X[source], Y[target])


def mean_cosine_criterion(
    X: np.ndarray, Y: np.ndarray, W: np.ndarray, max_rank: int = 10000, csls_k: int = 10
) -> float:
    """MUSE's unsupervised model-selection criterion (Conneau et al., 2018, sec. 3.5): the mean cosine
    between the mutual-CSLS translation pairs of the ``max_rank`` most frequent words. It rises as the
    spaces align, and needs no dictionary."""
    mapped = _unit_rows(X @ W.T)
    target = _unit_rows(Y)
    pairs = induce_dictionary(mapped, target, "csls", max_rank, csls_k)
    if not pairs:
        return -1.0
    source_rows, target_rows = np.asarray(pairs).T
    return float(np.mean(np.sum(mapped[source_rows] * target[target_rows], axis=1)))


# ---------------------------------------------------------------------------------------------------
# Adversarial training (MUSE)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdversarialSettings:
    """Hyper-parameters of :func:`adversarial_align`; the defaults are MUSE's (Conneau et al., 2018),
    sized for 300-dimensional fastText vectors on a GPU. Small problems want a smaller discriminator,
    shorter epochs and fewer of them."""

    hidden: tuple[int, ...] = (2048, 2048)  # discriminator hidden layers (LeakyReLU 0.2)
    input_dropout: float = 0.1  # on the discriminator's input, so it cannot memorise single words
    most_frequent: int = 75000  # only the most frequent words take part: rare words are noise
    batch_size: int = 32
    epochs: int = 5
    epoch_size: int = 1_000_000  # words per epoch (per side)
    discriminator_steps: int = 5  # discriminator updates per map update
    map_lr: float = 0.1  # SGD
    discriminator_lr: float = 0.1  # SGD
    lr_decay: float = 0.98  # the map's learning rate, after every epoch
    lr_shrink: float = 0.5  # the map's learning rate again, when the selection criterion got worse
    min_lr: float = 1e-6  # stop when the map's learning rate falls below this
    beta: float = 0.001  # orthogonality update W <- (1 + beta) W - beta (W W^T) W
    smoothing: float = 0.1  # discriminator label smoothing
    selection_rank: int = 10000  # words used by the unsupervised selection criterion
    csls_k: int = 10
    device: str = "cpu"


class Discriminator(nn.Module):
    """Tells mapped source vectors (label 1) from target vectors (label 0): an MLP with LeakyReLU,
    dropout on the input, a sigmoid output (Conneau et al., 2018, sec. 3.1).

    Dropout masks and initial weights are drawn from ``generator``, so a run depends on its seed only;
    the parameters live on the generator's device.
    """

    def __init__(
        self, dim: int, hidden: Sequence[int], input_dropout: float, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.input_dim, self.output_dim = dim, 1
        self.input_dropout = input_dropout
        self.generator = generator
        sizes = [dim, *hidden, 1]
        # nn.Linear initialises itself from torch's global generator; leave that as it was.
        with torch.random.fork_rng(devices=[]):
            layers = [
                nn.Linear(a, b).to(generator.device) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            ]
        for layer in layers:
            # nn.Linear's own initialisation (uniform in +-1/sqrt(fan_in)), drawn from our generator
            bound = 1 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.input_dropout > 0:
            keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.input_dropout
            x = x * keep / (1 - self.input_dropout)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = nn.functional.leaky_relu(x, 0.2)
        return torch.sigmoid(x).squeeze(-1)


def _sgd_step(parameters: Sequence[torch.Tensor], gradients: Sequence[torch.Tensor], lr: float) -> None:
    """Plain SGD, ``p <- p - lr * grad``, as in MUSE. (``torch.optim`` would do the same, but its
    first use imports torch's compiler stack, seconds of start-up for nothing here.)"""
    with torch.no_grad():
        for parameter, gradient in zip(parameters, gradients, strict=True):
            parameter -= lr * gradient


def orthogonalise(W: torch.Tensor, beta: float) -> None:
    """``W <- (1 + beta) W - beta (W W^T) W``, in place (Cisse et al., 2017; Conneau et al., 2018,
    sec. 3.3): one step towards the nearest orthogonal matrix, which keeps ``W`` close to the
    orthogonal manifold during adversarial training without projecting it there."""
    with torch.no_grad():
        W.copy_((1 + beta) * W - beta * (W @ W.T) @ W)


def adversarial_align(
    X: np.ndarray, Y: np.ndarray, settings: AdversarialSettings | None = None, seed: int = 1
) -> np.ndarray:
    """Learn a map ``W`` (``X @ W.T`` ≈ the target space) without any dictionary, as MUSE does
    (Conneau et al., 2018, sec. 2.1):

    * the discriminator ``D`` learns to tell ``W x`` (source, label ``1 - smoothing``) from ``y``
      (target, label ``smoothing``) on words drawn from the ``most_frequent`` of each side:
      ``L_D = -log D(Wx) - log(1 - D(y))``;
    * ``W``, starting from the identity, learns to fool it with the labels flipped, and after every
      step is pulled back towards orthogonality (:func:`orthogonalise`);
    * after each epoch, the unsupervised criterion (:func:`mean_cosine_criterion`) picks the best
      ``W`` so far; the map's learning rate decays, and shrinks further when the criterion fell.

    The result is a rough map, meant as the start of :func:`refine` (seed pairs from
    :func:`induce_dictionary`). ``X`` and ``Y`` should be normalised and sorted most frequent first.
    """
    s = settings or AdversarialSettings()
    if X.shape[1] != Y.shape[1]:
        raise ConfigError(f"both spaces must have one dimension, not {X.shape[1]} and {Y.shape[1]}")
    dim = X.shape[1]
    device = torch.device(s.device)
    generator = torch.Generator(device=device).manual_seed(seed)
    source = torch.as_tensor(X[: s.most_frequent], dtype=torch.float32, device=device)
    target = torch.as_tensor(Y[: s.most_frequent], dtype=torch.float32, device=device)

    W = torch.eye(dim, device=device, requires_grad=True)
    discriminator = Discriminator(dim, s.hidden, s.input_dropout, generator)
    discriminator_parameters = list(discriminator.parameters())
    map_lr = s.map_lr
    # The first half of a batch is mapped source, the second target.
    labels = torch.full((2 * s.batch_size,), s.smoothing, device=device)
    labels[: s.batch_size] = 1 - s.smoothing

    def batch() -> torch.Tensor:
        source_rows = torch.randint(len(source), (s.batch_size,), generator=generator, device=device)
        target_rows = torch.randint(len(target), (s.batch_size,), generator=generator, device=device)
        return torch.cat([source[source_rows] @ W.T, target[target_rows]])

    best_W, best_criterion = W.detach().clone(), -math.inf
    for _ in range(s.epochs):
        for _ in range(max(1, s.epoch_size // s.batch_size)):
            discriminator.train()
            for _ in range(s.discriminator_steps):
                with torch.no_grad():
                    x = batch()
                loss = nn.functional.binary_cross_entropy(discriminator(x), labels)
                _sgd_step(
                    discriminator_parameters,
                    torch.autograd.grad(loss, discriminator_parameters),
                    s.discriminator_lr,
                )
            # The map step sees the discriminator without dropout, as the judge it has to fool.
            discriminator.eval()
            loss = nn.functional.binary_cross_entropy(discriminator(batch()), 1 - labels)
            _sgd_step([W], torch.autograd.grad(loss, [W]), map_lr)
            orthogonalise(W, s.beta)

        current = W.detach().cpu().numpy()
        criterion = mean_cosine_criterion(X, Y, current, s.selection_rank, s.csls_k)
        # As in MUSE, only the map's learning rate changes.
        map_lr = max(s.min_lr, map_lr * s.lr_decay)
        if criterion < best_criterion:
            map_lr *= s.lr_shrink
        if criterion > best_criterion:
            best_W, best_criterion = W.detach().clone(), criterion
        if map_lr < s.min_lr:
            break
    return best_W.cpu().numpy().astype(np.float32)


# ---------------------------------------------------------------------------------------------------
# Several languages into one space
# ---------------------------------------------------------------------------------------------------

ALIGNMENT_METHODS = ("dictionary", "identical", "adversarial")


def learn_map(
    src: WordVectors,
    tgt: WordVectors,
    method: str = "identical",
    dictionary: Iterable[tuple[str, str]] | None = None,
    refine_iterations: int = 5,
    max_rank: int = 15000,
    csls_k: int = 10,
    adversarial: AdversarialSettings | None = None,
    seed: int = 1,
    names: tuple[str, str] = ("source", "target"),
) -> np.ndarray:
    """The map ``W`` from the (already normalised) space ``src`` into ``tgt``:

    * ``"dictionary"``: Procrustes on the pairs of a bilingual ``dictionary`` (supervised);
    * ``"identical"``: Procrustes on the words both vocabularies share (no bilingual data; works for
      languages sharing a script, or after :mod:`babeltag.embeddings.transliterate`);
    * ``"adversarial"``: MUSE's adversarial training (no bilingual data at all).

    Each is followed by ``refine_iterations`` rounds of :func:`refine` (0 for none). ``names`` (the
    two languages) are for error messages.
    """
    pair = f"{names[0]}-{names[1]}"
    if method not in ALIGNMENT_METHODS:
        raise ConfigError(f"alignment method must be one of {', '.join(ALIGNMENT_METHODS)}, not {method!r}")
    if src.dim != tgt.dim:
        raise ConfigError(
            f"cannot align {src.dim}-dimensional {names[0]} vectors with {tgt.dim}-dimensional {names[1]} ones"
        )
    if method == "dictionary":
        if dictionary is None:
            raise ConfigError(f"alignment method 'dictionary' needs a {pair} dictionary")
        seed_pairs = dictionary_pairs(dictionary, src.words, tgt.words)
        if not seed_pairs:
            raise ConfigError(f"no pair of the {pair} dictionary has both words in the two vocabularies")
    elif method == "identical":
        seed_pairs = identical_string_pairs(src.words, tgt.words)
        if not seed_pairs:
            raise ConfigError(
                f"{names[0]} and {names[1]} share no word, so alignment method 'identical' has no seed "
                "dictionary; transliterate one side or give a dictionary"
            )
    else:
        W = adversarial_align(src.vectors, tgt.vectors, adversarial, seed=seed)
        seed_pairs = induce_dictionary(src.vectors @ W.T, tgt.vectors, "csls", max_rank, csls_k)
    return refine(src.vectors, tgt.vectors, seed_pairs, refine_iterations, "csls", max_rank, csls_k)


def align_to_pivot(
    spaces: dict[str, WordVectors],
    pivot: str = "en",
    method: str | Mapping[str, str] = "identical",
    dictionaries: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    normalisation: Sequence[str] = ("unit", "center", "unit"),
    refine_iterations: int = 5,
    max_rank: int = 15000,
    csls_k: int = 10,
    adversarial: AdversarialSettings | None = None,
    seed: int = 1,
) -> dict[str, WordVectors]:
    """Map every language of ``spaces`` into the space of ``pivot`` (:func:`learn_map` for each),
    returning all of them, the pivot included, normalised and in one shared space.

    ``method`` is one method for all languages or one per language (``{"nl": "identical", "de":
    "dictionary"}``); ``dictionaries[language]`` holds ``(word of language, word of pivot)`` pairs.
    A hub-and-spoke alignment: every pair of languages is then comparable, through the pivot,
    without a dictionary between them.
    """
    if pivot not in spaces:
        raise ConfigError(f"the pivot language {pivot!r} is not among the spaces ({', '.join(spaces)})")
    methods = {
        language: method if isinstance(method, str) else method.get(language, "") for language in spaces
    }
    for language, chosen in methods.items():
        if language != pivot and not chosen:
            raise ConfigError(f"no alignment method given for {language!r}")
        if language != pivot and chosen not in ALIGNMENT_METHODS:
            raise ConfigError(
                f"alignment method for {language!r} must be one of {', '.join(ALIGNMENT_METHODS)}, not {chosen!r}"
            )
    normalised = {
        language: WordVectors(vectors.words, normalise(vectors.vectors, normalisation))
        for language, vectors in spaces.items()
    }
    aligned = {pivot: normalised[pivot]}
    for language, vectors in normalised.items():
        if language == pivot:
            continue
        W = learn_map(
            vectors,
            normalised[pivot],
            methods[language],
            None if dictionaries is None else dictionaries.get(language),
            refine_iterations,
            max_rank,
            csls_k,
            adversarial,
            seed,
            names=(language, pivot),
        )
        aligned[language] = WordVectors(vectors.words, (vectors.vectors @ W.T).astype(np.float32))
    return aligned
