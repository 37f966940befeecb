import math
from collections import Counter

import numpy as np
import pytest

from babeltag.data.mixing import (
    DatasetInfo,
    Schedule,
    Step,
    mixing_rates,
    proportional,
    proportions,
    temperature,
    uniform,
)

# Lin et al. (2018)-style setup: a tiny Dutch NER target, English NER and Dutch/English POS auxiliaries
LIN = [
    DatasetInfo("ner_nl", "ner", "nl", 100, "target"),
    DatasetInfo("ner_en", "ner", "en", 14041, "auxiliary"),
    DatasetInfo("pos_nl", "pos", "nl", 18051, "auxiliary"),
    DatasetInfo("pos_en", "pos", "en", 12544, "auxiliary"),
]


def _lengths(sizes: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.integers(1, 40, size=size) for name, size in sizes.items()}


def _schedule(
    sizes: dict[str, int],
    q: dict[str, float],
    order: str,
    epoch_unit: str = "updates",
    epoch_size: int = 10,
    targets: tuple[str, ...] = (),
    batch_size: int = 4,
    seed: int = 0,
) -> Schedule:
    return Schedule(
        _lengths(sizes),
        q,
        batch_size,
        order,
        epoch_unit,
        epoch_size,
        list(targets),
        np.random.default_rng(seed),
    )


def _indices_of(steps: list[Step], name: str) -> list[int]:
    return [i for step in steps for dataset, indices in step if dataset == name for i in indices]


def _within(count: int, total: int, q: float) -> bool:
    """``count`` within 4 standard errors of a binomial(total, q)."""
    return abs(count - q * total) <= 4 * math.sqrt(total * q * (1 - q))


# -- proportions ------------------------------------------------------------------------------


def test_proportional_and_uniform() -> None:
    assert proportional([100, 300]) == pytest.approx([0.25, 0.75])
    assert uniform(4) == pytest.approx([0.25] * 4)


def test_temperature_formula_and_its_limits() -> None:
    # p = [1/5, 4/5]; sqrt -> [1, 2] / sqrt(5)
    assert temperature([100, 400], 0.5) == pytest.approx([1 / 3, 2 / 3])
    # p = [1, 4, 16] / 21; sqrt -> [1, 2, 4]
    assert temperature([100, 400, 1600], 0.5) == pytest.approx([1 / 7, 2 / 7, 4 / 7])
    assert temperature([100, 400, 1600], 1.0) == pytest.approx(proportional([100, 400, 1600]))
    assert temperature([100, 400, 1600], 0.0) == pytest.approx(uniform(3))
    # alpha > 1 sharpens: p^2 -> [1, 16] / 17
    assert temperature([100, 400], 2.0) == pytest.approx([1 / 17, 16 / 17])


def test_mixing_rates_are_mu_zeta_sqrt_n() -> None:
    expected = [
        1.0 * 1.0 * math.sqrt(100),  # target itself
        1.0 * 0.1 * math.sqrt(14041),  # same task, other language
        0.1 * 1.0 * math.sqrt(18051),  # other task, same language
        0.1 * 0.1 * 112.0,  # other task and language; 12544 = 112^2
    ]
    assert mixing_rates(LIN) == pytest.approx(expected, rel=1e-12)
    custom = mixing_rates(LIN, other_task=0.5, other_language=0.2)
    assert custom == pytest.approx([10.0, 0.2 * math.sqrt(14041), 0.5 * math.sqrt(18051), 0.1 * 112.0])
    normalised = proportions(LIN, "mixing_rate")
    assert normalised == pytest.approx(np.array(expected) / sum(expected))


def test_mixing_rates_use_the_first_target_wherever_it_is() -> None:
    infos = [LIN[3], LIN[1], LIN[0], DatasetInfo("pos_en2", "pos", "en", 400, "target")]
    # the target is ner/nl (the first with role "target"), not the later pos/en one
    assert mixing_rates(infos) == pytest.approx([0.01 * 112, 0.1 * math.sqrt(14041), 10.0, 0.01 * 20])


def test_proportions_dispatch_and_sum_to_one() -> None:
    sizes = [info.size for info in LIN]
    assert proportions(LIN, "proportional") == pytest.approx(proportional(sizes))
    assert proportions(LIN, "uniform") == pytest.approx(uniform(4))
    assert proportions(LIN, "temperature", alpha=0.7) == pytest.approx(temperature(sizes, 0.7))
    for method in ("proportional", "uniform", "temperature", "mixing_rate"):
        assert proportions(LIN, method).sum() == pytest.approx(1.0)
    # no target is fine for methods that do not need one
    auxiliaries = LIN[1:]
    assert proportions(auxiliaries, "temperature").sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("infos", "method", "message"),
    [
        (LIN, "softmax", "unknown mixing method"),
        ([], "uniform", "no datasets"),
        ([*LIN, DatasetInfo("empty", "pos", "de", 0, "auxiliary")], "uniform", "no training sentences"),
        (LIN[1:], "mixing_rate", "role 'target'"),
    ],
)
def test_proportions_errors(infos: list[DatasetInfo], method: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportions(infos, method)


def test_bad_inputs_to_the_formulas() -> None:
    with pytest.raises(ValueError, match="role"):
        DatasetInfo("x", "ner", "nl", 10, "main")
    with pytest.raises(ValueError, match="alpha"):
        temperature([10, 20], -0.5)
    with pytest.raises(ValueError, match="at least one sentence"):
        proportional([10, 0])
    with pytest.raises(ValueError, match="no datasets"):
        uniform(0)


# -- schedule: which dataset each update goes to ----------------------------------------------

SIZES = {"a": 50, "b": 200, "c": 1000}
Q = {"a": 0.2, "b": 0.3, "c": 0.5}


def test_alternating_shares_match_proportions() -> None:
    total = 20_000
    steps = _schedule(SIZES, Q, "alternating", epoch_size=total, batch_size=8).epoch()
    assert len(steps) == total
    assert all(len(step) == 1 and 1 <= len(step[0][1]) <= 8 for step in steps)
    counts = Counter(step[0][0] for step in steps)
    for name, q in Q.items():
        assert _within(counts[name], total, q), (name, counts[name], q * total)


def test_round_robin_counts_stay_within_one_of_q_times_s() -> None:
    q = proportions(LIN, "mixing_rate")
    names = [info.name for info in LIN]
    schedule = _schedule(
        {name: 30 for name in names},
        dict(zip(names, q.tolist(), strict=True)),
        "round_robin",
        epoch_size=2000,
    )
    counts = np.zeros(len(names))
    for s, step in enumerate(schedule.epoch(), start=1):
        counts[names.index(step[0][0])] += 1
        assert np.abs(counts - q * s).max() <= 1.0, (s, counts, q * s)


def test_round_robin_is_never_a_full_update_ahead() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        q = rng.dirichlet(np.full(6, 0.3))
        q /= q.sum()
        names = list("uvwxyz")
        steps = _schedule(
            {name: 5 for name in names},
            dict(zip(names, q.tolist(), strict=True)),
            "round_robin",
            epoch_size=300,
        ).epoch()
        counts = np.zeros(6)
        for s, step in enumerate(steps, start=1):
            counts[names.index(step[0][0])] += 1
            assert (counts < q * s + 1).all()


def test_round_robin_uniform_cycles_in_order_whatever_the_seed() -> None:
    third = 1 / 3
    first = _schedule(SIZES, {"a": third, "b": third, "c": third}, "round_robin", epoch_size=9, seed=1)
    second = _schedule(SIZES, {"a": third, "b": third, "c": third}, "round_robin", epoch_size=9, seed=2)
    order = [step[0][0] for step in first.epoch()]
    assert order == list("abc" * 3)
    assert [step[0][0] for step in second.epoch()] == order
    # a 0-weight dataset is never picked, not even on a tie of credits
    skewed = _schedule(SIZES, {"a": 0.5, "b": 0.0, "c": 0.5}, "round_robin", epoch_size=6)
    assert [step[0][0] for step in skewed.epoch()] == list("acacac")


def test_mixed_batches_are_full_and_split_by_proportion() -> None:
    steps = _schedule(SIZES, Q, "mixed", epoch_size=2000, batch_size=16).epoch()
    for step in steps:
        names = [name for name, _ in step]
        assert len(names) == len(set(names))
        assert all(indices for _, indices in step)
        assert sum(len(indices) for _, indices in step) == 16
    total = 2000 * 16
    for name, q in Q.items():
        assert _within(len(_indices_of(steps, name)), total, q)


# -- schedule: epochs ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["alternating", "round_robin"])
def test_target_batches_epoch_ends_with_its_last_target_batch(order: str) -> None:
    q = {"a": 0.25, "b": 0.25, "c": 0.5}
    schedule = _schedule(SIZES, q, order, "target_batches", epoch_size=6, targets=("a",))
    for _ in range(5):
        steps = schedule.epoch()
        datasets = [step[0][0] for step in steps]
        assert datasets.count("a") == 6
        assert datasets[-1] == "a"


def test_target_batches_with_two_targets_counts_both() -> None:
    schedule = _schedule(SIZES, Q, "alternating", "target_batches", epoch_size=7, targets=("a", "b"))
    datasets = [step[0][0] for step in schedule.epoch()]
    assert sum(d in ("a", "b") for d in datasets) == 7
    assert datasets[-1] in ("a", "b")


def test_mixed_target_batches_epoch_counts_target_sentences() -> None:
    schedule = _schedule(SIZES, Q, "mixed", "target_batches", epoch_size=5, targets=("a",), batch_size=8)
    for _ in range(3):
        steps = schedule.epoch()
        drawn = [sum(len(ix) for name, ix in step if name == "a") for step in steps]
        assert sum(drawn) >= 5 * 8
        assert sum(drawn[:-1]) < 5 * 8  # it ends at the step that reaches the goal


@pytest.mark.parametrize("order", ["alternating", "round_robin", "mixed"])
def test_updates_epoch_has_epoch_size_steps(order: str) -> None:
    schedule = _schedule(SIZES, Q, order, "updates", epoch_size=13)
    assert [len(schedule.epoch()) for _ in range(3)] == [13, 13, 13]


@pytest.mark.parametrize("order", ["alternating", "round_robin", "mixed"])
def test_streams_visit_every_sentence_once_per_pass_across_epochs(order: str) -> None:
    sizes = {"small": 37, "big": 500}
    schedule = _schedule(sizes, {"small": 0.6, "big": 0.4}, order, epoch_size=5, batch_size=4)
    # many short epochs: the streams must carry over between them
    steps = [step for _ in range(30) for step in schedule.epoch()]
    small = _indices_of(steps, "small")
    assert len(small) >= 3 * 37
    for start in range(0, 3 * 37, 37):
        assert sorted(small[start : start + 37]) == list(range(37))
    big = _indices_of(steps, "big")
    assert len(big) == len(set(big))  # the big dataset is still in its first pass


def test_zero_proportion_dataset_may_be_empty_and_is_never_used() -> None:
    lengths = {"a": np.array([3, 4, 5]), "b": np.array([], dtype=np.int64)}
    schedule = Schedule(
        lengths, {"a": 1.0, "b": 0.0}, 2, "alternating", "updates", 50, [], np.random.default_rng(0)
    )
    assert {name for step in schedule.epoch() for name, _ in step} == {"a"}


@pytest.mark.parametrize("order", ["alternating", "round_robin", "mixed"])
def test_same_seed_same_schedule_different_seed_different(order: str) -> None:
    def run(seed: int) -> list[list[Step]]:
        schedule = _schedule(SIZES, Q, order, epoch_size=20, seed=seed)
        return [schedule.epoch(), schedule.epoch()]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_describe() -> None:
    q = {"a": 0.25, "b": 0.25, "c": 0.5}
    schedule = _schedule(SIZES, q, "alternating", "target_batches", epoch_size=6, targets=("a",))
    assert schedule.describe() == (
        "alternating batches; epoch = 6 target batches (~24 updates); proportions a 0.25, b 0.25, c 0.50"
    )
    assert (
        _schedule(SIZES, q, "round_robin", epoch_size=30)
        .describe()
        .startswith("round-robin batches; epoch = 30 updates; ")
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order": "shuffled"}, "unknown batch order"),
        ({"epoch_unit": "sentences"}, "unknown epoch unit"),
        ({"batch_size": 0}, "batch_size"),
        ({"epoch_size": 0}, "epoch_size"),
        ({"proportions": {"a": 0.5, "b": 0.3}}, "sum to 1"),
        ({"proportions": {"a": 0.5, "b": 0.5, "z": 0.0}}, "no training lengths"),
        ({"proportions": {"a": 1.5, "b": -0.5}}, ">= 0"),
        ({"targets": ["z"]}, "target datasets with no training lengths"),
        ({"proportions": {"a": 0.0, "b": 1.0}}, "needs a target with a proportion > 0"),
        ({"lengths": {"a": np.array([], dtype=np.int64), "b": np.array([2, 3])}}, "no training sentences"),
        ({"lengths": {"a": np.array([1]), "b": np.array([2]), "c": np.array([3])}}, "no proportion"),
    ],
)
def test_schedule_errors(change: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "lengths": {"a": np.array([1, 2]), "b": np.array([2, 3])},
        "proportions": {"a": 0.5, "b": 0.5},
        "batch_size": 2,
        "order": "alternating",
        "epoch_unit": "target_batches",
        "epoch_size": 3,
        "targets": ["a"],
        "generator": np.random.default_rng(0),
    }
    arguments.update(change)
    with pytest.raises(ValueError, match=message):
        Schedule(**arguments)  # type: ignore[arg-type]
