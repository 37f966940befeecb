"""Rank source languages for a target with a model fitted on transfer results, and judge any ranking.

The ground truth is a transfer matrix, ``scores[source][target]`` (e.g. the zero-shot accuracy of a
model trained on ``source`` and tested on ``target``). Each (source, target) pair has signals, such
as word overlap or genetic relatedness, that a ranker may use; a signal can be missing for a pair.

:class:`PairwiseRanker` learns how much each signal matters from pairs of sources: for one target,
"a transferred better than b". Only the order of the sources matters, not their scores, so targets
whose accuracies lie in different ranges can be pooled. It is judged leave-one-target-out: the
ranker that ranks target T never saw T's scores, exactly as when a user asks about a new language.
Baselines (one signal alone, "always English", random orders) go through the same evaluation.

The candidates for a target are the sources with a score for it, other than the target itself
(transferring from a language to itself is not transfer); a target with fewer than two is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from babeltag.errors import BabeltagError
from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.ranking import ndcg_at_k, relevance_from_scores, spearman

Signals = Mapping[tuple[str, str], Mapping[str, float | None]]
"""(source, target) -> signal name -> value; None (or an absent name or pair) when unavailable."""

Scores = Mapping[str, Mapping[str, float]]
"""source -> target -> true transfer score; higher is better."""

NDCG_K = 3
"""Users look at the first few suggestions, so the ranking is judged on its top three."""


class RankerError(BabeltagError):
    """A ranker that cannot be fitted, used or loaded: nothing to learn from, not fitted, a bad saved form."""


# --- who competes for which target -------------------------------------------------------------------


def targets_of(scores: Scores) -> list[str]:
    """Every target some source has a score for, sorted so that runs are reproducible."""
    return sorted({target for row in scores.values() for target in row})


def candidates_for(scores: Scores, target: str) -> list[str]:
    """The sources with a score for ``target``, other than ``target`` itself, sorted by name."""
    return sorted(source for source, row in scores.items() if target in row and source != target)


def evaluated_targets(scores: Scores) -> list[str]:
    """The targets with at least two candidates: with one there is nothing to rank."""
    return [target for target in targets_of(scores) if len(candidates_for(scores, target)) >= 2]


def order_from_scores(predicted: Mapping[str, float]) -> list[str]:
    """Candidates best first; equal scores are broken by name so that the same input gives the same order."""
    return sorted(predicted, key=lambda name: (-predicted[name], name))


# --- the fitted ranker --------------------------------------------------------------------------------


@dataclass
class PairwiseRanker:
    """Linear scoring f(x) = w·z(x) of a (source, target) pair's signals, fitted on pairs of sources.

    ``z`` is the signals standardised with the training pairs' mean and standard deviation. A missing
    signal becomes 0, the training mean: it neither helps nor hurts a source. A signal that is constant
    (or never observed) in training keeps standard deviation 1 so that nothing is divided by zero.

    The fit is pairwise logistic regression (RankNet with a linear scorer): for every training target
    and every two of its sources a, b with different true scores, P(a above b) = sigmoid(f(x_a) - f(x_b)).
    We minimise the negative log-likelihood summed over those pairs plus ``l2 / 2 * |w|^2`` with
    L-BFGS-B on the exact gradient. For l2 > 0 the loss is strictly convex, so the answer does not
    depend on a start or a seed (with l2 = 0 separable data has no finite optimum). There is no bias:
    it would cancel in f(x_a) - f(x_b).
    """

    signal_names: list[str]
    l2: float = 1.0
    weights: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def fit(self, signals: Signals, scores: Scores, targets: Iterable[str]) -> PairwiseRanker:
        """Fit on the pairs whose target is in ``targets`` and nothing else (standardisation included)."""
        if self.l2 < 0:
            raise RankerError(f"the L2 penalty must be >= 0, got l2={self.l2}")
        chosen = sorted(set(targets) & set(targets_of(scores)))
        pairs: list[tuple[str, str]] = []
        groups: list[tuple[np.ndarray, np.ndarray]] = []  # per target: rows in `pairs`, true scores
        for target in chosen:
            sources = candidates_for(scores, target)
            rows = np.arange(len(pairs), len(pairs) + len(sources))
            pairs += [(source, target) for source in sources]
            groups.append((rows, np.array([scores[source][target] for source in sources], dtype=float)))

        raw = _raw_signals(signals, self.signal_names, pairs)
        mean, std = _standardisation(raw)
        differences = _pair_differences(_standardise(raw, mean, std), groups)
        if len(differences) == 0:
            raise RankerError(
                f"nothing to learn from: no target among {chosen} has two sources with different scores"
            )
        result = optimize.minimize(
            _pairwise_loss,
            np.zeros(len(self.signal_names)),
            args=(differences, self.l2),
            jac=True,
            method="L-BFGS-B",
        )
        self.weights, self.mean, self.std = result.x, mean, std
        return self

    def score(self, signals: Signals, target: str, candidates: Sequence[str]) -> dict[str, float]:
        """f(x) for each candidate source of ``target``; higher means a better source."""
        if self.weights is None or self.mean is None or self.std is None:
            raise RankerError("the ranker is not fitted: call fit() or load a fitted one with from_dict()")
        raw = _raw_signals(signals, self.signal_names, [(source, target) for source in candidates])
        values = _standardise(raw, self.mean, self.std) @ self.weights
        return {source: float(value) for source, value in zip(candidates, values, strict=True)}

    def rank(self, signals: Signals, target: str, candidates: Sequence[str]) -> list[str]:
        """The candidates best first; ties broken by name."""
        return order_from_scores(self.score(signals, target, candidates))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form (plain lists and floats) for saving a fitted ranker next to its results."""
        return {
            "signal_names": list(self.signal_names),
            "l2": float(self.l2),
            "weights": _as_list(self.weights),
            "mean": _as_list(self.mean),
            "std": _as_list(self.std),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairwiseRanker:
        """The ranker :meth:`to_dict` saved; a :class:`RankerError` naming the key if it does not fit."""
        unknown = sorted(set(data) - {"signal_names", "l2", "weights", "mean", "std"})
        if unknown:
            raise RankerError(f"unknown keys in a saved ranker: {unknown}")
        if "signal_names" not in data:
            raise RankerError("a saved ranker needs 'signal_names'")
        names = [str(name) for name in data["signal_names"]]
        arrays = {key: _as_array(data.get(key), key, len(names)) for key in ("weights", "mean", "std")}
        return cls(signal_names=names, l2=float(data.get("l2", 1.0)), **arrays)


def _raw_signals(signals: Signals, names: Sequence[str], pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    """One row per pair, one column per signal; nan where the signal (or the whole pair) is missing."""
    raw = np.full((len(pairs), len(names)), np.nan)
    for row, pair in enumerate(pairs):
        values = signals.get(pair, {})
        for column, name in enumerate(names):
            value = values.get(name)
            if value is None:
                continue
            if math.isinf(value):
                raise RankerError(f"signal {name!r} of pair {pair} is {value}; use None for a missing value")
            raw[row, column] = value
    return raw


def _standardisation(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each column over its observed (non-nan) values."""
    observed = ~np.isnan(raw)
    count = np.maximum(observed.sum(axis=0), 1)
    mean = np.where(observed, raw, 0.0).sum(axis=0) / count
    variance = np.where(observed, (raw - mean) ** 2, 0.0).sum(axis=0) / count
    std = np.sqrt(variance)
    return mean, np.where(std > 1e-12, std, 1.0)


def _standardise(raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return np.nan_to_num((raw - mean) / std, nan=0.0)  # missing -> 0, the training mean


def _pair_differences(z: np.ndarray, groups: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """z(better) - z(worse) for every two sources of a target with different true scores.

    Only one direction per pair: "b below a" is the same observation as "a above b".
    """
    differences = [
        z[rows[i]] - z[rows[j]] if truth[i] > truth[j] else z[rows[j]] - z[rows[i]]
        for rows, truth in groups
        for i in range(len(rows))
        for j in range(i + 1, len(rows))
        if truth[i] != truth[j]
    ]
    return np.array(differences).reshape(len(differences), z.shape[1])


def _pairwise_loss(weights: np.ndarray, differences: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """Sum of -log sigmoid(w·d) over the pairs plus l2/2 |w|^2, and its gradient."""
    margins = differences @ weights
    loss = np.logaddexp(0.0, -margins).sum() + 0.5 * l2 * weights @ weights  # -log sigmoid(m), stably
    gradient = -special.expit(-margins) @ differences + l2 * weights
    return float(loss), gradient


def _as_list(values: np.ndarray | None) -> list[float] | None:
    return None if values is None else [float(value) for value in values]


def _as_array(values: Any, key: str, length: int) -> np.ndarray | None:
    if values is None:
        return None
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise RankerError(f"saved ranker key {key!r} must be a list of numbers: {error}") from error
    if array.shape != (length,):
        raise RankerError(f"saved ranker key {key!r} has shape {array.shape}, expected one value per signal")
    return array


# --- baselines ----------------------------------------------------------------------------------------


def single_signal_ranking(
    signals: Signals, signal: str, target: str, candidates: Sequence[str], higher_is_better: bool
) -> dict[str, float]:
    """Score each candidate by one signal alone (negated if lower is better); missing ranks last (-inf)."""
    ranking = {}
    for source in candidates:
        value = signals.get((source, target), {}).get(signal)
        if value is None or math.isnan(value):
            ranking[source] = -math.inf
        else:
            ranking[source] = float(value) if higher_is_better else -float(value)
    return ranking


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass
class RankingEvaluation:
    """How well a method ranks sources: NDCG@3 and Spearman, averaged over targets and per target.

    ``per_target[target]`` holds ``"ndcg_at_3"`` and ``"spearman"`` (floats) and ``"top1"``, the name
    of the source the method put first (for the random baselines: the one put first most often).
    """

    method: str
    ndcg_at_3: float
    spearman: float
    per_target: dict[str, dict[str, float | str]]


def evaluate_predictions(
    method: str, predicted: Mapping[str, Mapping[str, float]], scores: Scores
) -> RankingEvaluation:
    """Judge predicted scores (target -> candidate -> score, higher better) against the true scores."""
    per_target: dict[str, dict[str, float | str]] = {}
    for target in sorted(predicted):
        truth = {source: scores[source][target] for source in candidates_for(scores, target)}
        guess = predicted[target]
        if set(guess) != set(truth):
            raise EvaluationError(
                f"{method}: the predicted sources for {target!r} ({sorted(guess)}) are not its candidates "
                f"({sorted(truth)})"
            )
        order = order_from_scores(guess)
        per_target[target] = {
            "ndcg_at_3": ndcg_at_k(order, relevance_from_scores(truth), k=NDCG_K),
            "spearman": spearman(guess, truth),
            "top1": order[0],
        }
    return _summary(method, per_target)


def _summary(method: str, per_target: dict[str, dict[str, float | str]]) -> RankingEvaluation:
    if not per_target:
        raise EvaluationError(f"{method}: no target has two or more candidate sources to rank")
    return RankingEvaluation(
        method=method,
        ndcg_at_3=float(np.mean([float(result["ndcg_at_3"]) for result in per_target.values()])),
        spearman=float(np.mean([float(result["spearman"]) for result in per_target.values()])),
        per_target=per_target,
    )


# --- a prior on each source, from the transfer results themselves -----------------------------------

SOURCE_PRIOR = "source_prior"
"""The signal name of :func:`with_source_prior`: how good a source has been for the other targets."""


def with_source_prior(signals: Signals, scores: Scores) -> dict[tuple[str, str], dict[str, float | None]]:
    """``signals`` plus, for every pair (s, T), how well s ranked as a source for every *other*
    target in ``scores``: the mean of its normalised rank among each target's candidates (1 = the
    best source for that target, 0 = the worst; ties share their average rank).

    Some sources are good for most targets whatever their relatedness (a large, clean, varied
    treebank or entity-rich corpus): no pair signal sees that, but earlier transfer results do.
    T's own results never count towards (s, T), so a pair's prior does not contain its own answer;
    with ``scores`` that hold no result for a held-out target, nothing about it leaks either. A
    source without results for other targets gets None (missing: neither helps nor hurts).
    """
    quality: dict[str, dict[str, float]] = {}
    for target in targets_of(scores):
        sources = candidates_for(scores, target)
        if len(sources) < 2:
            continue
        ranks = stats.rankdata([scores[source][target] for source in sources])  # 1 = worst
        for source, rank in zip(sources, ranks, strict=True):
            quality.setdefault(source, {})[target] = float((rank - 1) / (len(sources) - 1))
    table: dict[tuple[str, str], dict[str, float | None]] = {}
    for (source, target), values in signals.items():
        others = [q for t, q in quality.get(source, {}).items() if t != target]
        table[(source, target)] = {**values, SOURCE_PRIOR: float(np.mean(others)) if others else None}
    return table


def without_target(scores: Scores, target: str) -> dict[str, dict[str, float]]:
    """A copy of ``scores`` with every score for ``target`` removed (``target`` as a source stays)."""
    kept = {source: {t: value for t, value in row.items() if t != target} for source, row in scores.items()}
    return {source: row for source, row in kept.items() if row}


def leave_one_target_out_scores(
    signals: Signals, scores: Scores, signal_names: Sequence[str], l2: float = 1.0
) -> dict[str, dict[str, float]]:
    """For each target T, the scores of T's candidates from a ranker fitted without any score for T.

    The ranker gets ``scores`` with T's column removed, so neither its weights nor its standardisation
    (nor the source prior, :data:`SOURCE_PRIOR`) can depend on T's true scores; T's signals are used
    only to score T's candidates, as for a new language.
    """
    all_targets = targets_of(scores)
    predicted = {}
    for target in evaluated_targets(scores):
        training = [t for t in all_targets if t != target]
        seen = without_target(scores, target)
        # the source prior, if used, is computed from the seen results only
        table = with_source_prior(signals, seen) if SOURCE_PRIOR in signal_names else signals
        ranker = PairwiseRanker(list(signal_names), l2=l2).fit(table, seen, training)
        predicted[target] = ranker.score(table, target, candidates_for(scores, target))
    return predicted


def evaluate_leave_one_target_out(
    signals: Signals, scores: Scores, signal_names: Sequence[str], l2: float = 1.0
) -> RankingEvaluation:
    """NDCG@3 and Spearman of :class:`PairwiseRanker`, each target ranked by a ranker that never saw it."""
    predicted = leave_one_target_out_scores(signals, scores, signal_names, l2=l2)
    return evaluate_predictions("pairwise ranker", predicted, scores)


def evaluate_single_signal(
    signals: Signals, scores: Scores, signal: str, higher_is_better: bool
) -> RankingEvaluation:
    """The baseline that ranks by one signal; nothing is fitted, so every target is fair game."""
    predicted = {
        target: single_signal_ranking(
            signals, signal, target, candidates_for(scores, target), higher_is_better
        )
        for target in evaluated_targets(scores)
    }
    method = signal if higher_is_better else f"{signal} (lower is better)"
    return evaluate_predictions(method, predicted, scores)


def evaluate_always(scores: Scores, first: str = "en", seed: int = 0, draws: int = 1000) -> RankingEvaluation:
    """The "always English" baseline: ``first`` on top where it is a candidate, the rest in random order.

    Its metrics are expectations over ``draws`` random orders of the rest, drawn from a numpy
    Generator seeded with ``seed``, so the numbers are the same on every run.
    """
    return _evaluate_random_orders(f"always {first}", scores, first, seed, draws)


def evaluate_random(scores: Scores, seed: int = 0, draws: int = 1000) -> RankingEvaluation:
    """The floor every method must beat: expected metrics over ``draws`` seeded random orders."""
    return _evaluate_random_orders("random", scores, None, seed, draws)


def _evaluate_random_orders(
    method: str, scores: Scores, first: str | None, seed: int, draws: int
) -> RankingEvaluation:
    if draws < 1:
        raise EvaluationError(f"{method}: needs at least one draw, got draws={draws}")
    generator = np.random.default_rng(seed)
    per_target: dict[str, dict[str, float | str]] = {}
    for target in evaluated_targets(scores):
        candidates = candidates_for(scores, target)
        orders = _random_orders(candidates, first, draws, generator)
        truth = [scores[source][target] for source in candidates]
        per_target[target] = _expected_over_orders(orders, candidates, truth)
    return _summary(method, per_target)


def _random_orders(
    candidates: Sequence[str], first: str | None, draws: int, generator: np.random.Generator
) -> np.ndarray:
    """``draws`` orders as rows of candidate indices, best first; ``first`` (if a candidate) always on top."""
    indices = np.arange(len(candidates))
    if first not in candidates:
        return generator.permuted(np.tile(indices, (draws, 1)), axis=1)
    top = candidates.index(first)
    rest = generator.permuted(np.tile(indices[indices != top], (draws, 1)), axis=1)
    return np.hstack([np.full((draws, 1), top), rest])


def _expected_over_orders(
    orders: np.ndarray, candidates: Sequence[str], truth: Sequence[float]
) -> dict[str, float | str]:
    """Mean NDCG@3 and Spearman over many orders at once, and the candidate most often put first.

    Vectorised for speed; it computes what :func:`ndcg_at_k` and :func:`spearman` give order by order
    (the tests check that), with the predicted score of a candidate being minus its position.
    """
    relevance = relevance_from_scores(dict(zip(candidates, truth, strict=True)))
    gains = 2.0 ** np.array([relevance[name] for name in candidates]) - 1.0
    k = min(NDCG_K, len(candidates))
    discounts = 1.0 / np.log2(np.arange(k) + 2)
    ideal = np.sort(gains)[::-1][:k] @ discounts
    ndcg = np.ones(len(orders)) if ideal == 0 else gains[orders[:, :k]] @ discounts / ideal

    true_ranks = stats.rankdata(truth) - np.mean(stats.rankdata(truth))
    if not np.any(true_ranks):
        rho = np.zeros(len(orders))  # constant truth: no ranking to agree with, as in spearman()
    else:
        predicted = -np.argsort(orders, axis=1).astype(float)  # the position of each candidate, negated
        predicted -= predicted.mean(axis=1, keepdims=True)
        rho = predicted @ true_ranks / (np.linalg.norm(predicted, axis=1) * np.linalg.norm(true_ranks))

    most_often_first = int(np.argmax(np.bincount(orders[:, 0], minlength=len(candidates))))
    return {
        "ndcg_at_3": float(ndcg.mean()),
        "spearman": float(rho.mean()),
        "top1": candidates[most_often_first],
    }
