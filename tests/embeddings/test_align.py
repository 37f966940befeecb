import numpy as np
import pytest
import torch
from scipy.linalg import expm

from babeltag.embeddings.align import (
    AdversarialSettings,
    adversarial_align,
    align_to_pivot,
    csls_scores,
    dictionary_pairs,
    identical_string_pairs,
    induce_dictionary,
    nearest,
    normalise,
    procrustes,
    refine,
)
from babeltag.embeddings.vectors import WordVectors
from babeltag.errors import ConfigError

torch.set_num_threads(1)


def random_rotation(dim: int, seed: int) -> np.ndarray:
    """A uniformly random proper rotation (QR of a Gaussian matrix, signs fixed)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))
    q *= np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def rotation_by(angle: float, dim: int, rng: np.random.Generator) -> np.ndarray:
    """A random rotation that turns no plane by more than ``angle`` radians: exp of a scaled skew matrix."""
    skew = rng.normal(size=(dim, dim))
    skew -= skew.T
    return expm(skew * angle / np.linalg.norm(skew, 2))


def clouds(
    seed: int, angle: float | None = None, n: int = 300, dim: int = 10, noise: float = 0.01
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two "languages": ``X`` is a mixture of 12 Gaussian clusters of unequal size and spread (so
    the distribution is far from isotropic), ``Y = X R + noise`` with its rows shuffled. Both are
    normalised. Returns ``X, Y, gold, R``: source row ``i`` translates to target row ``gold[i]``."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, dim)) * 3
    cluster = rng.choice(12, size=n, p=rng.dirichlet(np.full(12, 2.0)))
    X = centres[cluster] + rng.normal(size=(n, dim)) * rng.uniform(0.2, 0.5, size=(12, dim))[cluster]
    R = random_rotation(dim, seed) if angle is None else rotation_by(angle, dim, rng)
    Y = X @ R + noise * rng.normal(size=(n, dim))
    order = rng.permutation(n)
    gold = np.argsort(order)
    return normalise(X), normalise(Y[order]), gold, R


def precision_at_1(X: np.ndarray, Y: np.ndarray, W: np.ndarray, gold: np.ndarray) -> float:
    return float(np.mean(nearest(X @ W.T, Y, "csls")[:, 0] == gold))


# ---------------------------------------------------------------------------------------------------


def test_normalise() -> None:
    X = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    unit = normalise(X, ["unit"])
    np.testing.assert_allclose(unit, [[0.6, 0.8], [0, 0], [1, 0]], atol=1e-7)  # a zero row stays zero
    np.testing.assert_allclose(normalise(X, ["center"]).mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(normalise(X, ["unitdim"]).std(axis=0), 1, atol=1e-6)
    default = normalise(np.random.default_rng(0).normal(size=(20, 4)) + 5)
    np.testing.assert_allclose(np.linalg.norm(default, axis=1), 1, atol=1e-6)
    assert default.dtype == np.float32 and X[0, 0] == 3.0  # a new array
    with pytest.raises(ConfigError, match="normalisation step must be one of unit, center, unitdim"):
        normalise(X, ["length"])


def test_procrustes_recovers_a_known_rotation() -> None:
    R = random_rotation(12, seed=0)
    X = np.random.default_rng(1).normal(size=(40, 12))
    W = procrustes(X, X @ R)  # rows: Y = X R, i.e. y = R^T x, so W = R^T
    np.testing.assert_allclose(W, R.T, atol=1e-5)
    np.testing.assert_allclose(X @ W.T, X @ R, atol=1e-5)


def test_procrustes_is_the_best_orthogonal_map() -> None:
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    W = procrustes(X, Y)
    np.testing.assert_allclose(W @ W.T, np.eye(5), atol=1e-5)
    best = np.linalg.norm(X @ W.T - Y)
    for seed in range(20):  # no random orthogonal matrix, nor a small step away from W, does better
        Q = random_rotation(5, seed) * rng.choice([-1, 1], size=5)
        assert np.linalg.norm(X @ Q.T - Y) >= best - 1e-4
        nudged = rotation_by(0.01, 5, rng) @ W
        assert np.linalg.norm(X @ nudged.T - Y) >= best - 1e-4


def test_seed_dictionaries() -> None:
    src, tgt = ["huis", "Amsterdam", "boom", "Amsterdam", "3"], ["3", "house", "Amsterdam", "tree"]
    assert identical_string_pairs(src, tgt) == [(1, 2), (4, 0)]
    pairs = [("huis", "house"), ("boom", "tree"), ("huis", "house"), ("fiets", "bike"), ("boom", "oak")]
    assert dictionary_pairs(pairs, src, tgt) == [(0, 1), (2, 3)]


def brute_force_csls(mapped: np.ndarray, tgt: np.ndarray, k: int) -> np.ndarray:
    """CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), one pair at a time, straight from the definition."""

    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    def r(v: np.ndarray, others: np.ndarray) -> float:
        return float(np.mean(sorted((cos(v, o) for o in others), reverse=True)[:k]))

    scores = np.zeros((len(mapped), len(tgt)))
    for i, x in enumerate(mapped):
        for j, y in enumerate(tgt):
            scores[i, j] = 2 * cos(x, y) - r(x, tgt) - r(y, mapped)
    return scores


def test_csls_scores_equal_the_brute_force_definition() -> None:
    rng = np.random.default_rng(3)
    mapped, tgt = rng.normal(size=(7, 4)), rng.normal(size=(6, 4)) * 3
    expected = brute_force_csls(mapped, tgt, k=3)
    np.testing.assert_allclose(csls_scores(mapped, tgt, k=3, block_size=2), expected, atol=1e-5)
    np.testing.assert_allclose(csls_scores(mapped, tgt, k=3, rows=[5, 1]), expected[[5, 1]], atol=1e-5)
    # k larger than a side: the mean over all of it
    np.testing.assert_allclose(csls_scores(mapped, tgt, k=50), brute_force_csls(mapped, tgt, k=50), atol=1e-5)


def test_nearest_matches_a_full_sort_in_any_block_size() -> None:
    rng = np.random.default_rng(4)
    mapped, tgt = rng.normal(size=(9, 5)), rng.normal(size=(8, 5))
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    by_cosine = np.argsort(-(unit(mapped) @ unit(tgt).T), axis=1, kind="stable")[:, :3]
    by_csls = np.argsort(-brute_force_csls(mapped, tgt, k=2), axis=1, kind="stable")[:, :3]
    for block_size in (1, 4, 100):
        np.testing.assert_array_equal(nearest(mapped, tgt, "nn", k=3, block_size=block_size), by_cosine)
        np.testing.assert_array_equal(
            nearest(mapped, tgt, "csls", k=3, csls_k=2, block_size=block_size), by_csls
        )
    with pytest.raises(ConfigError, match="method must be 'nn' or 'csls'"):
        nearest(mapped, tgt, "cosine")


def test_csls_avoids_a_hub_that_plain_cosine_picks() -> None:
    # Four source words x_i lean towards their translations e_i, but all of them lean further towards
    # a "hub" target u = (e_0 + ... + e_3) / 2 that is close to everything.
    e = np.eye(5)
    hub = e[:4].sum(axis=0) / 2
    sources = e[:4] + 1.2 * hub
    targets = np.vstack([e[:4], hub])
    assert (nearest(sources, targets, "nn")[:, 0] == 4).all()
    np.testing.assert_array_equal(nearest(sources, targets, "csls", csls_k=2)[:, 0], [0, 1, 2, 3])


def test_refine_from_a_few_noisy_seed_pairs_recovers_the_rotation() -> None:
    X, Y, gold, R = clouds(seed=5)
    # 8 seed pairs, 3 of them wrong
    seed_pairs = [(i, int(gold[i])) for i in range(5)] + [
        (5, int(gold[6])),
        (6, int(gold[7])),
        (7, int(gold[5])),
    ]
    assert precision_at_1(X, Y, procrustes(X[:8], Y[gold[:8]]), gold) < 0.9  # the seed alone is not enough
    W = refine(X, Y, seed_pairs, iterations=5)
    assert precision_at_1(X, Y, W, gold) > 0.95
    np.testing.assert_allclose(W, R.T, atol=0.05)


ADVERSARIAL_TEST_SETTINGS = AdversarialSettings(
    hidden=(64, 64),  # MUSE: 2048, 2048 for 300-d vectors
    batch_size=128,
    epochs=5,
    epoch_size=6400,  # 50 map steps per epoch; MUSE: 1,000,000 words
    discriminator_steps=2,
    map_lr=1.5,  # large steps, to get somewhere in 250 map steps (MUSE: 0.1) ...
    beta=0.1,  # ... which need a stronger pull back to orthogonality (MUSE: 0.001)
    discriminator_lr=0.5,
    selection_rank=300,
)


def test_adversarial_alignment_gets_close_enough_for_refine() -> None:
    # Adversarial training is a local search from W = I. The rotation here turns planes by up to 2.5
    # radians: too far for self-learning from the identity, which is checked first.
    X, Y, gold, R = clouds(seed=2, angle=2.5)
    identity = np.eye(X.shape[1], dtype=np.float32)
    assert precision_at_1(X, Y, refine(X, Y, induce_dictionary(X, Y), iterations=5), gold) < 0.2

    W = adversarial_align(X, Y, ADVERSARIAL_TEST_SETTINGS, seed=1)
    assert precision_at_1(X, Y, W, gold) > 0.5
    assert np.linalg.norm(W - R.T) < 0.5 * np.linalg.norm(identity - R.T)
    np.testing.assert_allclose(np.linalg.svd(W)[1], 1, atol=0.1)  # close to orthogonal
    refined = refine(X, Y, induce_dictionary(X @ W.T, Y), iterations=5)
    assert precision_at_1(X, Y, refined, gold) > 0.9


def test_adversarial_alignment_is_seeded_and_leaves_global_state_alone() -> None:
    X, Y, _, _ = clouds(seed=2, n=50, dim=4)
    tiny = AdversarialSettings(hidden=(8,), batch_size=8, epochs=2, epoch_size=32, selection_rank=50)
    state = torch.get_rng_state()
    first = adversarial_align(X, Y, tiny, seed=7)
    assert torch.equal(state, torch.get_rng_state())
    np.testing.assert_array_equal(first, adversarial_align(X, Y, tiny, seed=7))
    assert not np.array_equal(first, adversarial_align(X, Y, tiny, seed=8))


def test_align_to_pivot() -> None:
    X, Y, gold, _ = clouds(seed=3, n=200)
    words = [f"w{i}" for i in range(200)]
    en = WordVectors([words[i] for i in np.argsort(gold)], Y)  # en word w_i is the translation of X's row i
    nl = WordVectors(words, X)  # the same strings: identical-string supervision
    de = WordVectors([f"d{i}" for i in range(200)], X[::-1].copy())  # no shared string: a dictionary
    dictionary = [(f"d{199 - i}", f"w{i}") for i in range(0, 200, 10)]
    aligned = align_to_pivot(
        {"en": en, "nl": nl, "de": de},
        pivot="en",
        method={"nl": "identical", "de": "dictionary"},
        dictionaries={"de": dictionary},
    )
    assert [aligned[language].words for language in ("en", "nl", "de")] == [en.words, nl.words, de.words]
    np.testing.assert_allclose(aligned["en"].vectors, normalise(en.vectors))
    for language, translations in (("nl", words), ("de", [f"w{199 - i}" for i in range(200)])):
        hits = nearest(aligned[language].vectors, aligned["en"].vectors, "csls")[:, 0]
        assert np.mean(np.array(aligned["en"].words)[hits] == translations) > 0.95, language

    with pytest.raises(ConfigError, match="de and en share no word, so alignment method 'identical'"):
        align_to_pivot({"en": en, "de": de}, method="identical")
    with pytest.raises(ConfigError, match="the pivot language 'fr' is not among the spaces"):
        align_to_pivot({"en": en}, pivot="fr")
    with pytest.raises(
        ConfigError, match="alignment method for 'nl' must be one of dictionary, identical, adv"
    ):
        align_to_pivot({"en": en, "nl": nl}, method="magic")
    with pytest.raises(ConfigError, match="alignment method 'dictionary' needs a nl-en dictionary"):
        align_to_pivot({"en": en, "nl": nl}, method="dictionary")
