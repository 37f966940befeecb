"""How much of each dataset a multi-dataset training run sees, and in what order.

A multi-task / multi-lingual run trains on several datasets at once: usually one *target* (the
task and language we report on) and *auxiliary* datasets that share a task or a language with it.
Two choices shape such a run, and this module makes both explicit.

**Proportions** ``q_i``: the share of updates (or sentences) that go to dataset ``i``; they sum to 1.
With ``n_i`` training sentences in dataset ``i``:

* ``proportional``: ``q_i = p_i = n_i / sum_j n_j``; as if all data were pooled. Big datasets drown
  small ones, which is bad when the small one is the target.
* ``uniform``: ``q_i = 1 / k`` for ``k`` datasets; a small target cycles many times per pass of a
  big auxiliary, so it overfits sooner.
* ``temperature`` (XLM, Conneau & Lample 2019): ``q_i = p_i^alpha / sum_j p_j^alpha``. ``alpha = 1``
  is proportional, ``alpha = 0`` uniform; in between (XLM uses 0.5 and 0.7) small datasets are
  up-sampled without letting them dominate.
* ``mixing_rate`` (Lin et al. 2018): ``r_i = mu_i * zeta_i * sqrt(N_i)`` and ``q_i = r_i / sum_j r_j``,
  where ``mu_i = 1`` if dataset ``i`` has the target's task (else ``other_task``, 0.1 by default) and
  ``zeta_i = 1`` if it has the target's language (else ``other_language``). The square root damps
  size differences; ``mu`` and ``zeta`` favour the datasets closest to the target.

**Order** (:class:`Schedule`): which batches make up each update.

* ``alternating`` (Luong et al. 2016; Lin et al. 2018): each update draws one dataset ``i`` with
  probability ``q_i`` and trains on that dataset's next batch. Each dataset can have its own head
  and loss, so an update never mixes tasks.
* ``round_robin``: as alternating, but the dataset sequence is deterministic: smooth weighted
  round robin keeps a credit per dataset; each update adds ``q_i`` to every credit, picks the largest
  (ties to the earlier dataset) and subtracts 1 from it. Credit ``i`` equals ``q_i S - c_i`` after
  ``S`` updates of which ``c_i`` went to ``i``, so the counts track ``q_i S``: a dataset is never a
  full update ahead (``c_i < q_i S + 1``: it is chosen only when its credit is the largest, hence
  positive, as credits sum to 1 after the addition). With two datasets it is never a full update
  behind either; with four or more of very unequal weight one can fall behind by slightly more
  than 1 (about 1.1 in a search over random weights). With uniform ``q`` it cycles in order.
* ``mixed``: each update is one batch of ``batch_size`` sentences drawn from several datasets, the
  number from each ~ multinomial(batch_size, q). Sentences come from a per-dataset endless shuffled
  stream (a new permutation each pass), not from length buckets, as one batch spans datasets.

Each dataset keeps an endless stream of length-bucketed batches (a new shuffled pass when one runs
out), and streams persist across epochs: a small target cycles many times while a big auxiliary
is still in its first pass, and no sentence of a pass is seen twice before the others.

**Epoch**: with ``epoch_unit="updates"`` an epoch is ``epoch_size`` updates. With
``"target_batches"`` it ends at the update where the target datasets have received ``epoch_size``
batches in total (``mixed``: ``epoch_size * batch_size`` target sentences), so "one epoch" means
the same amount of target data whatever the proportions, and dev scores stay comparable across
mixing methods. It then takes about ``epoch_size / q_T`` updates, ``q_T`` the targets' total share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from babeltag.data.batching import bucketed_batches
from babeltag.errors import ConfigError

Probabilities = npt.NDArray[np.float64]
Step = list[tuple[str, list[int]]]
"""One update: (dataset name, sentence indices in that dataset) pairs."""

ROLES = ("target", "auxiliary")
METHODS = ("proportional", "uniform", "temperature", "mixing_rate")
ORDERS = ("alternating", "round_robin", "mixed")
EPOCH_UNITS = ("updates", "target_batches")
_TIE = 1e-9  # round-robin credits closer than this are equal


class MixingError(ConfigError, ValueError):
    """Proportions or a schedule that cannot be used. A ``ValueError`` too, for callers that expect one."""


@dataclass(frozen=True)
class DatasetInfo:
    """What the proportion methods need to know about one training dataset."""

    name: str
    task: str
    language: str
    size: int  # training sentences
    role: str  # "target" or "auxiliary"

    def __post_init__(self) -> None:
        # a misspelt role would silently leave a run without a target
        if self.role not in ROLES:
            raise MixingError(f"dataset {self.name!r}: role must be one of {ROLES}, got {self.role!r}")
        if self.size < 0:
            raise MixingError(f"dataset {self.name!r}: size must be >= 0, got {self.size}")


# ---------------------------------------------------------------------------------------------
# proportions


def _check_sizes(sizes: Sequence[int]) -> npt.NDArray[np.float64]:
    if len(sizes) == 0:
        raise MixingError("no datasets to mix")
    array = np.asarray(sizes, dtype=np.float64)
    # a 0-sentence dataset cannot be sampled, and 0**0 = 1 would give it a share under temperature
    if (array <= 0).any():
        raise MixingError(f"every dataset needs at least one sentence, got sizes {list(sizes)}")
    return array


def proportional(sizes: Sequence[int]) -> Probabilities:
    """``p_i = n_i / sum_j n_j``."""
    array = _check_sizes(sizes)
    return array / array.sum()


def uniform(count: int) -> Probabilities:
    """``q_i = 1 / count``."""
    if count < 1:
        raise MixingError(f"no datasets to mix (count = {count})")
    return np.full(count, 1.0 / count)


def temperature(sizes: Sequence[int], alpha: float) -> Probabilities:
    """``q_i = p_i^alpha / sum_j p_j^alpha`` (XLM); ``alpha = 1`` proportional, ``alpha = 0`` uniform."""
    if not (np.isfinite(alpha) and alpha >= 0):
        raise MixingError(f"temperature alpha must be a finite number >= 0, got {alpha}")
    # in log space: p_i^alpha of a tiny dataset can underflow for large alpha
    logits = alpha * np.log(proportional(sizes))
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


def _target(infos: Sequence[DatasetInfo]) -> DatasetInfo:
    for info in infos:
        if info.role == "target":
            return info
    names = [info.name for info in infos]
    raise MixingError(f"mixing_rate needs a dataset with role 'target'; none among {names}")


def mixing_rates(
    infos: Sequence[DatasetInfo], other_task: float = 0.1, other_language: float = 0.1
) -> Probabilities:
    """Lin et al. (2018) unnormalised rates ``r_i = mu_i * zeta_i * sqrt(N_i)``.

    ``mu_i`` is 1 for the target's task, else ``other_task``; ``zeta_i`` is 1 for the target's
    language, else ``other_language``. The target is the first dataset with role ``"target"``.
    """
    if not infos:
        raise MixingError("no datasets to mix")
    for label, value in (("other_task", other_task), ("other_language", other_language)):
        if not (np.isfinite(value) and value >= 0):
            raise MixingError(f"{label} must be a finite number >= 0, got {value}")
    target = _target(infos)
    mu = np.array([1.0 if info.task == target.task else other_task for info in infos])
    zeta = np.array([1.0 if info.language == target.language else other_language for info in infos])
    sizes = np.array([info.size for info in infos], dtype=np.float64)
    return mu * zeta * np.sqrt(sizes)


def proportions(
    infos: Sequence[DatasetInfo],
    method: str,
    alpha: float = 0.5,
    other_task: float = 0.1,
    other_language: float = 0.1,
) -> Probabilities:
    """The share ``q_i`` of each dataset under ``method``, in the order of ``infos``; sums to 1."""
    if method not in METHODS:
        raise MixingError(f"unknown mixing method {method!r}; expected one of {METHODS}")
    if not infos:
        raise MixingError("no datasets to mix")
    empty = [info.name for info in infos if info.size <= 0]
    if empty:
        raise MixingError(f"datasets with no training sentences cannot be mixed: {empty}")
    sizes = [info.size for info in infos]
    if method == "proportional":
        return proportional(sizes)
    if method == "uniform":
        return uniform(len(infos))
    if method == "temperature":
        return temperature(sizes, alpha)
    rates = mixing_rates(infos, other_task, other_language)
    return rates / rates.sum()


# ---------------------------------------------------------------------------------------------
# streams


class _BatchStream:
    """Endless length-bucketed batches of one dataset; a new shuffled pass when one runs out."""

    def __init__(self, lengths: np.ndarray, batch_size: int, generator: np.random.Generator) -> None:
        self.lengths = lengths
        self.batch_size = batch_size
        self.generator = generator
        self.batches: list[list[int]] = []
        self.position = 0

    def next(self) -> list[int]:
        # the pass is drawn lazily, so building a schedule consumes no randomness
        if self.position == len(self.batches):
            self.batches = bucketed_batches(self.lengths, self.batch_size, self.generator)
            self.position = 0
        batch = self.batches[self.position]
        self.position += 1
        return batch


class _SentenceStream:
    """Endless shuffled sentence indices of one dataset; a new permutation each pass."""

    def __init__(self, size: int, generator: np.random.Generator) -> None:
        self.size = size
        self.generator = generator
        self.order = np.empty(0, dtype=np.int64)
        self.position = 0

    def take(self, count: int) -> list[int]:
        # a request may span passes (or several, for a dataset smaller than the batch)
        taken: list[int] = []
        while len(taken) < count:
            if self.position == len(self.order):
                self.order = self.generator.permutation(self.size)
                self.position = 0
            end = min(len(self.order), self.position + count - len(taken))
            taken.extend(self.order[self.position : end].tolist())
            self.position = end
        return taken


# ---------------------------------------------------------------------------------------------
# schedule


class Schedule:
    """The updates of each epoch of a multi-dataset run; see the module docstring.

    ``lengths[name]`` are the token lengths of dataset ``name``'s training sentences,
    ``proportions[name]`` its share ``q`` (summing to 1; the order of this mapping is the dataset
    order, which breaks round-robin ties). ``targets`` name the datasets an epoch is counted in
    when ``epoch_unit="target_batches"``. All randomness comes from ``generator``.
    """

    def __init__(
        self,
        lengths: Mapping[str, np.ndarray],
        proportions: Mapping[str, float],
        batch_size: int,
        order: str,
        epoch_unit: str,
        epoch_size: int,
        targets: Sequence[str],
        generator: np.random.Generator,
    ) -> None:
        _check_settings(order, epoch_unit, batch_size, epoch_size)
        self.names = list(proportions)
        self.probabilities = _check_proportions(lengths, proportions, self.names)
        self.targets = frozenset(targets)
        _check_targets(lengths, proportions, targets, epoch_unit)
        self.batch_size = batch_size
        self.order = order
        self.epoch_unit = epoch_unit
        self.epoch_size = epoch_size
        self.generator = generator
        # sampling by inverse CDF, as generator.choice does, without its per-call overhead
        self.cdf = np.cumsum(self.probabilities)
        self.cdf /= self.cdf[-1]
        self.credits = np.zeros(len(self.names))
        lengths_of = {name: np.asarray(lengths[name]) for name in self.names}
        self.batches = {name: _BatchStream(lengths_of[name], batch_size, generator) for name in self.names}
        self.sentences = {name: _SentenceStream(len(lengths_of[name]), generator) for name in self.names}
        steps: dict[str, Callable[[], Step]] = {
            "alternating": self._alternating_step,
            "round_robin": self._round_robin_step,
            "mixed": self._mixed_step,
        }
        self._next_step = steps[order]

    def state_dict(self) -> dict[str, Any]:
        """Where every stream is and the random state: enough to plan the same next epochs after a
        restart (training/trainer.py's checkpoints)."""
        return {
            "generator": self.generator.bit_generator.state,
            "credits": self.credits.tolist(),
            "batches": {name: (s.batches, s.position) for name, s in self.batches.items()},
            "sentences": {name: (s.order.tolist(), s.position) for name, s in self.sentences.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.bit_generator.state = state["generator"]
        self.credits = np.asarray(state["credits"], dtype=np.float64)
        for name, (batches, position) in state["batches"].items():
            self.batches[name].batches, self.batches[name].position = batches, position
        for name, (order, position) in state["sentences"].items():
            self.sentences[name].order = np.asarray(order, dtype=np.int64)
            self.sentences[name].position = position

    def epoch(self) -> list[Step]:
        """The next epoch's updates; streams and round-robin credits carry over between calls."""
        steps: list[Step] = []
        progress, goal = 0, self._goal()
        while progress < goal:
            step = self._next_step()
            steps.append(step)
            progress += self._progress(step)
        return steps

    def describe(self) -> str:
        """One line for the training log."""
        order = {"alternating": "alternating", "round_robin": "round-robin", "mixed": "mixed"}[self.order]
        shares = ", ".join(f"{name} {q:.2f}" for name, q in zip(self.names, self.probabilities, strict=True))
        return f"{order} batches; epoch = {self._describe_epoch()}; proportions {shares}"

    # -- one update ----------------------------------------------------------------------------

    def _alternating_step(self) -> Step:
        index = int(np.searchsorted(self.cdf, self.generator.random(), side="right"))
        name = self.names[index]
        return [(name, self.batches[name].next())]

    def _round_robin_step(self) -> Step:
        self.credits += self.probabilities
        # a 0-weight dataset keeps credit 0 and must never win a tie against rounding error
        eligible = np.where(self.probabilities > 0, self.credits, -np.inf)
        # ties go to the earlier dataset; credits like 1/3 + 1/3 + 1/3 are only equal up to rounding
        index = int(np.flatnonzero(eligible >= eligible.max() - _TIE)[0])
        self.credits[index] -= 1.0
        name = self.names[index]
        return [(name, self.batches[name].next())]

    def _mixed_step(self) -> Step:
        counts = self.generator.multinomial(self.batch_size, self.probabilities)
        return [
            (name, self.sentences[name].take(int(count)))
            for name, count in zip(self.names, counts, strict=True)
            if count > 0
        ]

    # -- epoch length --------------------------------------------------------------------------

    def _goal(self) -> int:
        # a mixed update spreads one batch over datasets, so its targets are counted in sentences
        if self.epoch_unit == "target_batches" and self.order == "mixed":
            return self.epoch_size * self.batch_size
        return self.epoch_size

    def _progress(self, step: Step) -> int:
        if self.epoch_unit == "updates":
            return 1
        if self.order == "mixed":
            return sum(len(indices) for name, indices in step if name in self.targets)
        return sum(1 for name, _ in step if name in self.targets)

    def _describe_epoch(self) -> str:
        if self.epoch_unit == "updates":
            return f"{self.epoch_size} updates"
        share = sum(q for name, q in zip(self.names, self.probabilities, strict=True) if name in self.targets)
        updates = round(self.epoch_size / share)
        unit = "batches of target sentences" if self.order == "mixed" else "target batches"
        return f"{self.epoch_size} {unit} (~{updates} updates)"


def _check_settings(order: str, epoch_unit: str, batch_size: int, epoch_size: int) -> None:
    if order not in ORDERS:
        raise MixingError(f"unknown batch order {order!r}; expected one of {ORDERS}")
    if epoch_unit not in EPOCH_UNITS:
        raise MixingError(f"unknown epoch unit {epoch_unit!r}; expected one of {EPOCH_UNITS}")
    if batch_size < 1:
        raise MixingError(f"batch_size must be >= 1, got {batch_size}")
    if epoch_size < 1:
        raise MixingError(f"epoch_size must be >= 1, got {epoch_size}")


def _check_proportions(
    lengths: Mapping[str, np.ndarray], proportions: Mapping[str, float], names: list[str]
) -> Probabilities:
    if not names:
        raise MixingError("no datasets to mix: proportions is empty")
    missing = [name for name in names if name not in lengths]
    if missing:
        raise MixingError(f"datasets with a proportion but no training lengths: {missing}")
    # a dataset without a proportion would silently never be trained on
    unmixed = [name for name in lengths if name not in proportions]
    if unmixed:
        raise MixingError(f"datasets with training lengths but no proportion: {unmixed}")
    q = np.array([proportions[name] for name in names], dtype=np.float64)
    if not np.isfinite(q).all() or (q < 0).any():
        raise MixingError(f"proportions must be finite and >= 0, got {dict(proportions)}")
    if not np.isclose(q.sum(), 1.0, rtol=0.0, atol=1e-6):
        raise MixingError(f"proportions must sum to 1, got {q.sum():.6g} from {dict(proportions)}")
    empty = [name for name, share in zip(names, q, strict=True) if share > 0 and len(lengths[name]) == 0]
    if empty:
        raise MixingError(f"datasets with a proportion > 0 but no training sentences: {empty}")
    # exactly 1, so multinomial accepts it and round-robin credits do not drift
    return q / q.sum()


def _check_targets(
    lengths: Mapping[str, np.ndarray],
    proportions: Mapping[str, float],
    targets: Sequence[str],
    epoch_unit: str,
) -> None:
    missing = [name for name in targets if name not in lengths]
    if missing:
        raise MixingError(f"target datasets with no training lengths: {missing}")
    # otherwise a target-counted epoch would never end
    if epoch_unit == "target_batches" and not any(proportions[name] > 0 for name in targets):
        raise MixingError(
            f"epoch_unit 'target_batches' needs a target with a proportion > 0; targets {list(targets)} "
            f"have proportions {[proportions[name] for name in targets]}"
        )
