"""The pairwise ranker on synthetic transfer matrices, leave-one-target-out hygiene, and the baselines."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
from scipy import optimize

from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.ranking import ndcg_at_k, relevance_from_scores, spearman
from babeltag.sources import ranker as ranker_module
from babeltag.sources.ranker import (
    SOURCE_PRIOR,
    PairwiseRanker,
    RankerError,
    Scores,
    Signals,
    _expected_over_orders,
    _pairwise_loss,
    _random_orders,
    candidates_for,
    evaluate_always,
    evaluate_leave_one_target_out,
    evaluate_predictions,
    evaluate_random,
    evaluate_single_signal,
    leave_one_target_out_scores,
    single_signal_ranking,
    targets_of,
    with_source_prior,
    without_target,
)

NAMES = ["signal_a", "noise"]


def transfer_matrix(
    seed: int = 0, targets: int = 6, sources: int = 5
) -> tuple[dict[tuple[str, str], dict[str, float | None]], dict[str, dict[str, float]]]:
    """Scores = 2 * signal_a + a little noise; ``noise`` is a second signal unrelated to the scores."""
    rng = np.random.default_rng(seed)
    signals: dict[tuple[str, str], dict[str, float | None]] = {}
    scores: dict[str, dict[str, float]] = {f"s{i}": {} for i in range(sources)}
    for t in range(targets):
        for source in scores:
            a, noise = rng.normal(size=2)
            signals[(source, f"t{t}")] = {"signal_a": float(a), "noise": float(noise)}
            scores[source][f"t{t}"] = 2 * float(a) + 0.1 * float(rng.normal())
    return signals, scores


# --- the model -------------------------------------------------------------------------------------------


def test_ranker_recovers_the_direction_of_the_signal() -> None:
    signals, scores = transfer_matrix()
    ranker = PairwiseRanker(NAMES).fit(signals, scores, targets_of(scores))
    assert ranker.weights is not None
    weight_a, weight_noise = ranker.weights
    assert weight_a > 1.0
    assert abs(weight_noise) < 0.15 * weight_a

    # flip the signal: the ranker must learn a negative weight
    flipped = {
        pair: {"signal_a": -float(v["signal_a"] or 0), "noise": v["noise"]} for pair, v in signals.items()
    }
    flipped_weights = PairwiseRanker(NAMES).fit(flipped, scores, targets_of(scores)).weights
    assert flipped_weights is not None and flipped_weights[0] < -1.0


def test_leave_one_target_out_ranks_nearly_perfectly_with_a_clean_signal() -> None:
    signals, scores = transfer_matrix()
    result = evaluate_leave_one_target_out(signals, scores, NAMES)
    assert result.method == "pairwise ranker"
    assert sorted(result.per_target) == targets_of(scores)
    assert result.ndcg_at_3 > 0.95
    assert result.spearman > 0.9
    assert result.ndcg_at_3 > evaluate_random(scores).ndcg_at_3 + 0.2
    for target, per_target in result.per_target.items():
        best = max(candidates_for(scores, target), key=lambda source: scores[source][target])
        assert per_target["top1"] == best


def test_exact_gradient_matches_finite_differences_and_the_loss_a_loop() -> None:
    rng = np.random.default_rng(1)
    differences = rng.normal(size=(12, 3))
    weights = rng.normal(size=3)
    loss, _ = _pairwise_loss(weights, differences, 0.7)
    by_loop = sum(-math.log(1 / (1 + math.exp(-float(d @ weights)))) for d in differences)
    assert loss == pytest.approx(by_loop + 0.35 * float(weights @ weights))
    error = optimize.check_grad(
        lambda w: _pairwise_loss(w, differences, 0.7)[0],
        lambda w: _pairwise_loss(w, differences, 0.7)[1],
        weights,
    )
    assert error < 1e-5


def test_standardisation_uses_training_pairs_and_missing_is_the_mean() -> None:
    signals: dict[tuple[str, str], dict[str, float | None]] = {
        ("a", "t1"): {"x": 1.0},
        ("b", "t1"): {"x": 3.0},
        ("c", "t1"): {"x": None},  # missing: not part of the mean, and scored as the mean
        ("a", "t2"): {"x": 100.0},  # t2 is not a training target
        ("b", "t2"): {"x": -100.0},
    }
    scores = {"a": {"t1": 0.1, "t2": 0.5}, "b": {"t1": 0.9, "t2": 0.2}, "c": {"t1": 0.5}}
    ranker = PairwiseRanker(["x"]).fit(signals, scores, ["t1"])
    assert ranker.mean is not None and ranker.std is not None
    assert ranker.mean.tolist() == [2.0] and ranker.std.tolist() == [1.0]
    scored = ranker.score(signals, "t1", ["a", "b", "c", "unknown"])
    assert scored["c"] == 0.0 and scored["unknown"] == 0.0  # no signals at all: also the mean
    assert scored["b"] > 0 > scored["a"]


def test_fit_uses_only_the_given_targets() -> None:
    signals, scores = transfer_matrix()
    training = ["t0", "t1", "t2"]
    reference = PairwiseRanker(NAMES).fit(signals, scores, training)
    scrambled = {source: dict(row) for source, row in scores.items()}
    rng = np.random.default_rng(5)
    for source in scrambled:
        for target in ("t3", "t4", "t5"):
            scrambled[source][target] = float(rng.normal())
    refit = PairwiseRanker(NAMES).fit(signals, scrambled, training)
    np.testing.assert_array_equal(reference.weights, refit.weights)
    np.testing.assert_array_equal(reference.mean, refit.mean)


def test_rank_breaks_ties_by_name_and_candidates_exclude_the_target() -> None:
    signals: dict[tuple[str, str], dict[str, float | None]] = {
        ("b", "t"): {"x": 1.0},
        ("a", "t"): {"x": 1.0},
        ("c", "t"): {"x": 0.0},
        ("c", "u"): {"x": 1.0},
        ("a", "u"): {"x": 0.0},
    }
    scores = {"a": {"t": 0.5, "u": 0.1}, "b": {"t": 0.5}, "c": {"t": 0.1, "u": 0.7}, "t": {"t": 1.0}}
    assert candidates_for(scores, "t") == ["a", "b", "c"]  # not t itself
    ranker = PairwiseRanker(["x"]).fit(signals, scores, ["t", "u"])
    assert ranker.rank(signals, "t", ["c", "b", "a"]) == ["a", "b", "c"]


def test_fit_errors() -> None:
    signals, scores = transfer_matrix()
    with pytest.raises(RankerError, match="not fitted"):
        PairwiseRanker(NAMES).score(signals, "t0", ["s0", "s1"])
    with pytest.raises(RankerError, match="nothing to learn"):
        PairwiseRanker(NAMES).fit(signals, scores, ["no such target"])
    with pytest.raises(RankerError, match="nothing to learn"):
        PairwiseRanker(["x"]).fit({}, {"a": {"t": 1.0}, "b": {"t": 1.0}}, ["t"])  # only a tie
    with pytest.raises(RankerError, match="l2"):
        PairwiseRanker(NAMES, l2=-1.0).fit(signals, scores, ["t0"])
    with pytest.raises(RankerError, match="None"):
        PairwiseRanker(["x"]).fit({("a", "t"): {"x": math.inf}}, {"a": {"t": 1.0}, "b": {"t": 0.0}}, ["t"])


def test_to_dict_from_dict_round_trip_scores_the_same() -> None:
    signals, scores = transfer_matrix()
    ranker = PairwiseRanker(NAMES, l2=0.5).fit(signals, scores, targets_of(scores))
    loaded = PairwiseRanker.from_dict(json.loads(json.dumps(ranker.to_dict())))
    candidates = candidates_for(scores, "t3")
    assert loaded.score(signals, "t3", candidates) == ranker.score(signals, "t3", candidates)
    assert loaded.l2 == 0.5 and loaded.signal_names == NAMES
    unfitted = PairwiseRanker.from_dict(PairwiseRanker(NAMES).to_dict())
    assert unfitted.weights is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"signal_names": ["x"], "colour": "red"}, "colour"),
        ({"weights": [1.0]}, "signal_names"),
        ({"signal_names": ["x"], "weights": [1.0, 2.0]}, "weights"),
        ({"signal_names": ["x"], "mean": ["a lot"]}, "mean"),
    ],
)
def test_from_dict_names_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(RankerError, match=message):
        PairwiseRanker.from_dict(data)


# --- leave one target out never peeks --------------------------------------------------------------------


def test_leave_one_target_out_never_passes_the_held_out_target_to_fit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signals, scores = transfer_matrix()
    seen: list[set[str]] = []  # per fit: every target named in `targets` or in the scores' inner keys
    original_fit = PairwiseRanker.fit

    def spy(self: PairwiseRanker, signals: Signals, scores: Scores, targets: Iterable[str]) -> PairwiseRanker:
        targets = list(targets)
        seen.append(set(targets) | {target for row in scores.values() for target in row})
        return original_fit(self, signals, scores, targets)

    monkeypatch.setattr(ranker_module.PairwiseRanker, "fit", spy)
    evaluate_leave_one_target_out(signals, scores, NAMES)

    everything = set(targets_of(scores))
    assert len(seen) == len(everything)
    held_out = [everything - visible for visible in seen]
    assert all(len(missing) == 1 for missing in held_out)  # each fit misses exactly one target ...
    assert set().union(*held_out) == everything  # ... and every target is held out once


def test_held_out_scores_do_not_change_the_held_out_ranking() -> None:
    signals, scores = transfer_matrix()
    reference = leave_one_target_out_scores(signals, scores, NAMES)
    rng = np.random.default_rng(9)
    for target in ("t0", "t4"):
        changed = {source: dict(row) for source, row in scores.items()}
        for source in changed:
            changed[source][target] = float(rng.normal() * 50)
        assert leave_one_target_out_scores(signals, changed, NAMES)[target] == reference[target]


def test_without_target_keeps_the_target_as_a_source() -> None:
    scores = {"a": {"b": 1.0, "c": 2.0}, "b": {"a": 0.5, "c": 0.1}, "c": {"b": 3.0}}
    assert without_target(scores, "b") == {"a": {"c": 2.0}, "b": {"a": 0.5, "c": 0.1}}


# --- baselines and their evaluation ----------------------------------------------------------------------


def test_single_signal_ranking_handles_direction_and_missing_values() -> None:
    signals: dict[tuple[str, str], dict[str, float | None]] = {
        ("a", "t"): {"distance": 0.2},
        ("b", "t"): {"distance": 0.7},
        ("c", "t"): {"distance": None},
    }
    assert single_signal_ranking(signals, "distance", "t", ["a", "b", "c", "d"], higher_is_better=False) == {
        "a": -0.2,
        "b": -0.7,
        "c": -math.inf,
        "d": -math.inf,
    }
    higher = single_signal_ranking(signals, "distance", "t", ["a", "b", "c"], higher_is_better=True)
    assert higher["b"] > higher["a"] > higher["c"]


def test_single_signal_evaluation() -> None:
    signals, scores = transfer_matrix()
    good = evaluate_single_signal(signals, scores, "signal_a", higher_is_better=True)
    backwards = evaluate_single_signal(signals, scores, "signal_a", higher_is_better=False)
    assert good.method == "signal_a" and backwards.method == "signal_a (lower is better)"
    assert good.spearman > 0.9 and backwards.spearman < -0.9
    assert good.ndcg_at_3 > backwards.ndcg_at_3


def test_always_baseline_puts_first_on_top() -> None:
    _, scores = transfer_matrix()
    scores["en"] = {target: 10.0 for target in targets_of(scores)}  # the truly best source everywhere
    scores["s0"]["en"] = 0.3  # en as a target: it is not its own candidate
    scores["s1"]["en"] = 0.6
    always = evaluate_always(scores, first="en", draws=200)
    assert always.method == "always en"
    for target, result in always.per_target.items():
        assert result["top1"] in ({"s0", "s1"} if target == "en" else {"en"})  # en is no candidate for en
    random = evaluate_random(scores, draws=200)
    assert always.ndcg_at_3 > random.ndcg_at_3
    assert all(
        order[0] == 0 for order in _random_orders(["en", "s0", "s1"], "en", 50, np.random.default_rng(0))
    )


def test_random_baseline_is_deterministic_for_a_seed_and_near_its_expectation() -> None:
    _, scores = transfer_matrix()
    first = evaluate_random(scores, seed=3, draws=2000)
    assert evaluate_random(scores, seed=3, draws=2000) == first
    assert evaluate_random(scores, seed=4, draws=2000) != first
    assert abs(first.spearman) < 0.05  # a random order has expected correlation 0
    # each position of a random order holds a uniformly random candidate, so E[DCG] is the mean gain
    # times the discounts: with 5 candidates, relevances 0..4
    mean_gain = np.mean([2.0**rel - 1 for rel in range(5)])
    expected_dcg = sum(mean_gain / math.log2(i + 2) for i in range(3))
    ideal = sum((2.0 ** (4 - i) - 1) / math.log2(i + 2) for i in range(3))
    assert first.ndcg_at_3 == pytest.approx(expected_dcg / ideal, abs=0.02)


@pytest.mark.parametrize(
    "truth", [[0.3, 0.9, 0.1, 0.5, 0.7], [0.3, 0.3, 0.1, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0, 1.0]]
)
def test_vectorised_expectations_match_the_metrics_order_by_order(truth: list[float]) -> None:
    candidates = ["a", "b", "c", "d", "e"]
    orders = _random_orders(candidates, None, 40, np.random.default_rng(2))
    true_scores = dict(zip(candidates, truth, strict=True))
    relevance = relevance_from_scores(true_scores)
    ndcgs, rhos, firsts = [], [], []
    for order in orders:
        names = [candidates[i] for i in order]
        ndcgs.append(ndcg_at_k(names, relevance, k=3))
        rhos.append(spearman({name: -position for position, name in enumerate(names)}, true_scores))
        firsts.append(names[0])
    result = _expected_over_orders(orders, candidates, truth)
    assert result["ndcg_at_3"] == pytest.approx(np.mean(ndcgs))
    assert result["spearman"] == pytest.approx(np.mean(rhos), abs=1e-12)
    assert firsts.count(str(result["top1"])) == max(firsts.count(name) for name in candidates)


def test_evaluation_errors() -> None:
    with pytest.raises(EvaluationError, match="no target"):
        evaluate_random({"a": {"t": 1.0}})  # one candidate: nothing to rank
    with pytest.raises(EvaluationError, match="draw"):
        evaluate_random({"a": {"t": 1.0}, "b": {"t": 0.5}}, draws=0)
    with pytest.raises(EvaluationError, match="not its candidates"):
        evaluate_predictions("mine", {"t": {"a": 1.0, "x": 0.0}}, {"a": {"t": 1.0}, "b": {"t": 0.5}})


# --- the source prior ------------------------------------------------------------------------------------


def test_source_prior_is_the_mean_normalised_rank_on_the_other_targets() -> None:
    scores = {
        "a": {"t1": 10.0, "t2": 5.0, "t3": 1.0},
        "b": {"t1": 20.0, "t2": 5.0, "t3": 3.0},
        "c": {"t1": 30.0, "t2": 1.0},  # no result for t3
    }
    signals: dict[tuple[str, str], dict[str, float | None]] = {
        (s, t): {"x": 1.0} for s in ("a", "b", "c", "d") for t in ("t1", "t2", "t3")
    }
    table = with_source_prior(signals, scores)
    # normalised ranks (1 = best): t1 a 0, b 0.5, c 1; t2 a 0.75, b 0.75 (tied), c 0; t3 a 0, b 1
    assert table[("a", "t1")][SOURCE_PRIOR] == pytest.approx((0.75 + 0.0) / 2)  # t2, t3: not t1
    assert table[("b", "t3")][SOURCE_PRIOR] == pytest.approx((0.5 + 0.75) / 2)
    assert table[("c", "t2")][SOURCE_PRIOR] == pytest.approx(1.0)  # only t1 is another target
    assert table[("d", "t1")][SOURCE_PRIOR] is None  # never measured: missing, not 0
    assert table[("a", "t1")]["x"] == 1.0 and SOURCE_PRIOR not in signals[("a", "t1")]


def test_a_source_good_everywhere_is_learned_from_the_prior_without_leaking_the_held_out_target() -> None:
    """Scores = source quality (invisible to the pair signals) + signal_a: the prior carries the
    quality; the held-out target's own scores still cannot move its ranking."""
    signals, scores = transfer_matrix(seed=3, targets=8, sources=6)
    quality = {f"s{i}": 3.0 * i for i in range(6)}
    scores = {s: {t: v + quality[s] for t, v in row.items()} for s, row in scores.items()}
    with_prior = evaluate_leave_one_target_out(signals, scores, [*NAMES, SOURCE_PRIOR])
    without = evaluate_leave_one_target_out(signals, scores, NAMES)
    assert with_prior.spearman > without.spearman + 0.2
    reference = leave_one_target_out_scores(signals, scores, [*NAMES, SOURCE_PRIOR])
    changed = {source: dict(row) for source, row in scores.items()}
    for source in changed:
        changed[source]["t2"] = -float(changed[source]["t2"])  # the worst sources become the best
    assert leave_one_target_out_scores(signals, changed, [*NAMES, SOURCE_PRIOR])["t2"] == reference["t2"]
