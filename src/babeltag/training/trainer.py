"""The training loop: batches -> named losses -> one update; dev evaluation and early stopping per epoch.

What one epoch is made of comes from a ``BatchSource``: for one dataset, a shuffled pass over it in
length-bucketed batches; for several, a schedule of batches drawn from each (data/mixing.py).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from babeltag.config import TrainingConfig
from babeltag.data.batching import Batch, TensorDataset, bucketed_batches
from babeltag.training.log import RunLog
from babeltag.training.optim import make_optimizer, make_scheduler


class BatchSource(Protocol):
    """Plans an epoch as a list of cheap steps (sentence indices), and turns one step into what the
    model's ``forward`` takes only when it is trained on (so an epoch's tensors never all exist)."""

    def epoch(self) -> Sequence[Any]: ...

    def inputs(self, step: Any) -> Any: ...

    def sentences(self, step: Any) -> int: ...


class SingleDataset:
    """One dataset: every epoch a new shuffled pass in length-bucketed batches."""

    def __init__(self, data: TensorDataset, batch_size: int, generator: np.random.Generator) -> None:
        self.data = data
        self.batch_size = batch_size
        self.generator = generator

    def epoch(self) -> list[list[int]]:
        return bucketed_batches(self.data.lengths, self.batch_size, self.generator)

    def inputs(self, step: list[int]) -> Batch:
        return self.data.batch(step)

    def sentences(self, step: list[int]) -> int:
        return len(step)


@dataclass
class TrainingResult:
    best_epoch: int
    best_dev: dict[str, Any] | None
    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains a model on a BatchSource. The model's ``forward(step inputs)`` returns losses by name;
    their sum, each weighted by ``loss_weights[name]`` (default 1), is minimised and each is logged.

    ``evaluate()`` scores the current model on dev (``result["score"]``, higher is better); the
    best epoch's weights are kept and restored at the end, and ``on_best(result)`` is called each
    time the dev score improves (to save the model as training goes, so a killed run keeps it).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainingConfig,
        log: RunLog,
        evaluate: Callable[[], dict[str, Any]] | None = None,
        on_best: Callable[[dict[str, Any]], None] | None = None,
        progress: bool | None = None,
        loss_weights: Mapping[str, float] | None = None,
    ) -> None:
        self.model = model
        self.loss_weights = dict(loss_weights or {})
        self.config = config
        self.log = log
        self.evaluate = evaluate
        self.on_best = on_best
        self.progress = progress
        # a critic (MAN's discriminator) trains with its own optimiser, so its parameters stay out
        # of the main one
        self.critic = getattr(model, "critic", None)
        critic_parameters = {id(p) for p in self.critic.parameters()} if self.critic is not None else set()
        self.main_parameters = [p for p in model.parameters() if id(p) not in critic_parameters]
        learning_rates = getattr(model, "learning_rates", None)
        self.optimizer = make_optimizer(
            self.main_parameters, config.optimizer, learning_rates() if learning_rates is not None else None
        )
        self.critic_optimizer = (
            torch.optim.Adam(self.critic.parameters(), lr=self.critic.lr) if self.critic is not None else None
        )
        self.scheduler = make_scheduler(self.optimizer, config)
        self.batch_order = np.random.default_rng(config.seed)

    def train_epoch(self, source: BatchSource, epoch: int) -> dict[str, Any]:
        self.model.train()
        steps = source.epoch()
        totals: dict[str, float] = {}
        counts: dict[str, int] = {}
        sentences = 0
        start = time.perf_counter()
        bar = tqdm(
            steps,
            desc=f"epoch {epoch}",
            unit="batch",
            leave=False,
            # progress None: show the bar only on a terminal (tqdm's own rule); False: never
            disable=None if self.progress is None else not self.progress,
            dynamic_ncols=True,
        )
        set_progress = getattr(self.model, "set_progress", None)  # e.g. a gradient-reversal schedule
        for index, step in enumerate(bar):
            if set_progress is not None:
                set_progress((epoch - 1 + index / max(len(steps), 1)) / self.config.epochs)
            if self.critic is not None:
                self.train_critic(source, step)
            losses = self.model(source.inputs(step))
            loss = sum(self.loss_weights.get(name, 1.0) * value for name, value in losses.items())
            assert isinstance(loss, torch.Tensor)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"epoch {epoch}: loss became {loss.item()}; lower the learning rate")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.config.clip is not None:
                nn.utils.clip_grad_norm_(self.main_parameters, self.config.clip)
            self.optimizer.step()
            if self.config.lr_decay_unit == "step":
                self.scheduler.step()
            for name, value in losses.items():  # unweighted, averaged over the steps that had it
                totals[name] = totals.get(name, 0.0) + value.item()
                counts[name] = counts.get(name, 0) + 1
            sentences += source.sentences(step)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        if self.config.lr_decay_unit == "epoch":
            self.scheduler.step()
        seconds = time.perf_counter() - start
        return {
            "loss": {name: total / counts[name] for name, total in totals.items()},
            "updates": len(steps),
            "sentences": sentences,
            "seconds": seconds,
            "sentences_per_s": sentences / seconds if seconds > 0 else math.inf,
        }

    def train_critic(self, source: BatchSource, step: Any) -> None:
        """The critic's updates before a main update, each on fresh batches when the source can draw
        them (``critic_inputs``: a batch of every language), else on the step's own batches."""
        assert self.critic is not None and self.critic_optimizer is not None
        draw = getattr(source, "critic_inputs", None)
        for _ in range(self.critic.steps):
            loss = self.critic.loss(draw() if draw is not None else source.inputs(step))
            self.critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.critic_optimizer.step()
            self.critic.after_step()
        self.critic_optimizer.zero_grad(set_to_none=True)

    def fit(self, train: TensorDataset | BatchSource) -> TrainingResult:
        source = (
            SingleDataset(train, self.config.batch_size, self.batch_order)
            if isinstance(train, TensorDataset)
            else train
        )
        best_score = -math.inf
        best_state: dict[str, torch.Tensor] | None = None
        result = TrainingResult(best_epoch=0, best_dev=None, epochs_run=0)
        stale = 0
        for epoch in range(1, self.config.epochs + 1):
            lr = self.optimizer.param_groups[0]["lr"]
            stats = self.train_epoch(source, epoch)
            dev = self.evaluate() if self.evaluate is not None else None
            entry = {"epoch": epoch, "lr": lr, **stats, "dev": dev}
            improved = dev is not None and dev["score"] > best_score
            if improved:
                assert dev is not None
                best_score, stale = dev["score"], 0
                best_state = copy.deepcopy(self.model.state_dict())
                result.best_epoch, result.best_dev = epoch, dev
            else:
                stale += 1
            loss_text = " ".join(f"{name}={value:.4f}" for name, value in stats["loss"].items())
            dev_text = f" dev={dev['score']:.2f}{' *' if improved else ''}" if dev is not None else ""
            self.log.record(
                entry,
                f"epoch {epoch:3d}  loss {loss_text}{dev_text}  {stats['sentences_per_s']:.0f} sent/s  "
                f"lr {lr:.3g}  {stats['seconds']:.1f}s",
            )
            result.history.append(entry)
            result.epochs_run = epoch
            if improved and self.on_best is not None:
                assert dev is not None
                self.on_best({"epoch": epoch, **dev})
            if self.config.patience is not None and stale >= self.config.patience:
                self.log.record(
                    {"event": "early_stop", "epoch": epoch},
                    f"no dev improvement for {stale} epochs: stopping",
                )
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        return result
