"""The training loop: batches -> named losses -> one update; dev evaluation and early stopping per epoch.

What one epoch is made of comes from a ``BatchSource``: for one dataset, a shuffled pass over it in
length-bucketed batches; for several, a schedule of batches drawn from each (data/mixing.py).

The loop runs on ``training.device`` (mixed precision on CUDA: training/devices.py), in one process
or several started by torchrun (training/distributed.py), and checkpoints everything it holds at
the end of every epoch, every ``training.checkpoint_every`` updates and on Ctrl-C: weights,
optimiser, schedule, the epoch's plan and position in it, and every random stream. A run restarted
from a checkpoint continues exactly where it stopped (on a CPU, bit for bit).
"""

from __future__ import annotations

import copy
import math
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from babeltag.config import TrainingConfig
from babeltag.data.batching import Batch, TensorDataset, bucketed_batches
from babeltag.errors import ConfigError
from babeltag.training.devices import Precision, resolve_device, to_device
from babeltag.training.distributed import Distributed, ShardedSource
from babeltag.training.log import RunLog
from babeltag.training.optim import make_optimizer, make_scheduler
from babeltag.training.sparse_rows import clip_grad_norm, sparse_tables


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

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.bit_generator.state = state["generator"]


@dataclass
class TrainingResult:
    best_epoch: int
    best_dev: dict[str, Any] | None
    epochs_run: int
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EpochProgress:
    """How far into an epoch the run is: its planned steps, the next one, and the running sums."""

    steps: list[Any]
    lr: float
    position: int = 0
    totals: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    sentences: int = 0
    seconds: float = 0.0


@dataclass
class RunProgress:
    """Everything about the run so far that is not a tensor of the model or optimiser."""

    epoch: int = 1  # the epoch being (or about to be) trained
    current: EpochProgress | None = None
    best_score: float = -math.inf
    best_state: dict[str, torch.Tensor] | None = None
    stale: int = 0
    stopped_early: bool = False
    result: TrainingResult = field(default_factory=lambda: TrainingResult(0, None, 0))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training: a checkpoint was written; the same command resumes."""


class Trainer:
    """Trains a model on a BatchSource. The model's ``forward(step inputs)`` returns losses by name;
    their sum, each weighted by ``loss_weights[name]`` (default 1), is minimised and each is logged.

    ``evaluate()`` scores the current model on dev (``result["score"]``, higher is better); the
    best epoch's weights are kept and restored at the end, and ``on_best(result)`` is called each
    time the dev score improves (to save the model as training goes, so a killed run keeps it).
    With ``checkpoint`` (a file path) the run can be stopped and resumed: ``fit`` continues from the
    file when it exists.
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
        checkpoint: Path | None = None,
        distributed: Distributed | None = None,
    ) -> None:
        self.distributed = distributed or Distributed()
        self.device = resolve_device(config.device, self.distributed.local_rank)
        self.precision = Precision(config.mixed_precision, self.device)
        self.model = model.to(self.device)
        self.loss_weights = dict(loss_weights or {})
        self.config = config
        self.log = log
        self.evaluate = evaluate
        self.on_best = on_best
        self.progress = progress
        self.checkpoint_path = checkpoint
        # a critic (MAN's discriminator) trains with its own optimiser, so its parameters stay out
        # of the main one
        self.critic = getattr(model, "critic", None)
        critic_parameters = {id(p) for p in self.critic.parameters()} if self.critic is not None else set()
        self.main_parameters = [p for p in model.parameters() if id(p) not in critic_parameters]
        self.sparse_tables = sparse_tables(model)  # updated row by row, averaged over processes here
        learning_rates = getattr(model, "learning_rates", None)
        self.optimizer = make_optimizer(
            self.main_parameters,
            config.optimizer,
            learning_rates() if learning_rates is not None else None,
            sparse=self.sparse_tables,
        )
        self.critic_optimizer = (
            torch.optim.Adam(self.critic.parameters(), lr=self.critic.lr) if self.critic is not None else None
        )
        self.scheduler = make_scheduler(self.optimizer, config)
        self.batch_order = np.random.default_rng(config.seed)
        if self.distributed.active:
            # the same initial weights everywhere (DDP also broadcasts rank 0's), but each process
            # its own dropout masks
            torch.manual_seed(config.seed * 1000 + self.distributed.rank)
        # a multi-dataset update runs only the parts of the datasets in its batch
        self.trained = self.distributed.wrap(
            self.model,
            self.device,
            find_unused_parameters=getattr(model, "partial_updates", False),
            averaged_outside=self.sparse_tables,
        )
        self.stop_requested = False

    # -- one epoch ---------------------------------------------------------------------------

    def train_epoch(self, source: BatchSource, epoch: int, run: RunProgress | None = None) -> dict[str, Any]:
        """Train on the epoch's steps from ``run.current.position`` on; returns the epoch's stats."""
        if run is None:
            run = RunProgress(epoch=epoch)
        if run.current is None:
            run.current = EpochProgress(list(source.epoch()), self.optimizer.param_groups[0]["lr"])
        current = run.current
        self.model.train()
        started = time.perf_counter()
        bar = tqdm(
            total=len(current.steps),
            initial=current.position,
            desc=f"epoch {epoch}",
            unit="batch",
            leave=False,
            # progress None: show the bar only on a terminal (tqdm's own rule); False: never
            disable=(None if self.progress is None else not self.progress)
            if self.distributed.is_main
            else True,
            dynamic_ncols=True,
        )
        set_progress = getattr(self.model, "set_progress", None)  # e.g. a gradient-reversal schedule
        loss_scale = getattr(source, "loss_scale", None)  # a process's share of a sharded update
        every = self.config.checkpoint_every
        try:
            while current.position < len(current.steps):
                index, step = current.position, current.steps[current.position]
                if set_progress is not None:
                    set_progress((epoch - 1 + index / max(len(current.steps), 1)) / self.config.epochs)
                if self.critic is not None:
                    self.train_critic(source, step)
                with self.precision.autocast():
                    losses = self.trained(to_device(source.inputs(step), self.device))
                    loss = sum(self.loss_weights.get(name, 1.0) * value for name, value in losses.items())
                assert isinstance(loss, torch.Tensor)
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"epoch {epoch}: loss became {loss.item()}; lower the learning rate"
                    )
                self.optimizer.zero_grad(set_to_none=True)
                self.precision.backward(loss * loss_scale(step) if loss_scale is not None else loss)
                self.distributed.average_sparse_gradients(self.sparse_tables)
                if self.config.clip is not None:
                    self.precision.unscale(self.optimizer)
                    clip_grad_norm(self.main_parameters, self.config.clip)
                self.precision.step(self.optimizer)
                if self.config.lr_decay_unit == "step":
                    self.scheduler.step()
                # unweighted, averaged over the steps that had it (and over processes, by their share)
                share = loss_scale(step) / self.distributed.world_size if loss_scale is not None else 1.0
                for name, value in losses.items():
                    current.totals[name] = current.totals.get(name, 0.0) + share * value.item()
                    current.counts[name] = current.counts.get(name, 0) + 1
                current.sentences += source.sentences(step)
                current.position += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
                stop = self.distributed.any(self.stop_requested)
                if stop or (every is not None and current.position % every == 0):
                    current.seconds += time.perf_counter() - started
                    started = time.perf_counter()
                    self.save_checkpoint(source, run)
                if stop:
                    self.log.record(
                        {"event": "interrupted", "epoch": epoch, "position": current.position},
                        f"stopped in epoch {epoch} after update {current.position}; run the same command to resume",
                    )
                    raise Interrupted
        finally:
            bar.close()
        current.seconds += time.perf_counter() - started
        if self.config.lr_decay_unit == "epoch":
            self.scheduler.step()
        sentences = self.distributed.total(current.sentences)
        seconds = current.seconds
        totals = {name: self.distributed.total(total) for name, total in current.totals.items()}
        return {
            "loss": {name: total / current.counts[name] for name, total in totals.items()},
            "updates": len(current.steps),
            "sentences": int(sentences),
            "seconds": seconds,
            "sentences_per_s": sentences / seconds if seconds > 0 else math.inf,
        }

    def train_critic(self, source: BatchSource, step: Any) -> None:
        """The critic's updates before a main update, each on fresh batches when the source can draw
        them (``critic_inputs``: a batch of every language), else on the step's own batches."""
        assert self.critic is not None and self.critic_optimizer is not None
        draw = getattr(source, "critic_inputs", None)
        for _ in range(self.critic.steps):
            inputs = to_device(draw() if draw is not None else source.inputs(step), self.device)
            with self.precision.autocast():
                loss = self.critic.loss(inputs)
            self.critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            # outside DistributedDataParallel's forward, so its gradients are averaged here
            self.distributed.average_gradients(self.critic.parameters())
            self.critic_optimizer.step()
            self.critic.after_step()
        self.critic_optimizer.zero_grad(set_to_none=True)

    # -- the run -----------------------------------------------------------------------------

    def fit(self, train: TensorDataset | BatchSource) -> TrainingResult:
        source: Any = (
            SingleDataset(train, self.config.batch_size * self.distributed.world_size, self.batch_order)
            if isinstance(train, TensorDataset)
            else train
        )
        if self.distributed.active:
            source = ShardedSource(source, self.distributed)
        run = RunProgress()
        if self.checkpoint_path is not None and self.checkpoint_path.is_file():
            run = self.load_checkpoint(source)
            self.log.record(
                {
                    "event": "resume",
                    "epoch": run.epoch,
                    "position": run.current.position if run.current else 0,
                },
                f"resuming from {self.checkpoint_path}: epoch {run.epoch}, "
                f"update {run.current.position if run.current else 0}",
            )
        with _stop_on_interrupt(self):
            while run.epoch <= self.config.epochs and not run.stopped_early:
                self.run_epoch(source, run)
        if isinstance(source, ShardedSource) and source.skipped:
            self.log.record(
                {"event": "note", "skipped_updates": source.skipped},
                f"{source.skipped} updates had fewer sentences than processes and were skipped",
            )
        if run.best_state is not None:
            self.model.load_state_dict(run.best_state)
        return run.result

    def run_epoch(self, source: BatchSource, run: RunProgress) -> None:
        """Train one epoch (or the rest of it), evaluate on dev, log, checkpoint."""
        epoch = run.epoch
        stats = self.train_epoch(source, epoch, run)
        assert run.current is not None
        lr = run.current.lr
        # dev is scored once, by rank 0, and its verdict shared, so every process stops together
        dev = self.evaluate() if self.evaluate is not None and self.distributed.is_main else None
        dev = self.distributed.broadcast(dev)
        entry = {"epoch": epoch, "lr": lr, **stats, "dev": dev}
        improved = dev is not None and dev["score"] > run.best_score
        if improved:
            assert dev is not None
            run.best_score, run.stale = dev["score"], 0
            run.best_state = copy.deepcopy(self.model.state_dict())
            run.result.best_epoch, run.result.best_dev = epoch, dev
        else:
            run.stale += 1
        loss_text = " ".join(f"{name}={value:.4f}" for name, value in stats["loss"].items())
        dev_text = f" dev={dev['score']:.2f}{' *' if improved else ''}" if dev is not None else ""
        self.log.record(
            entry,
            f"epoch {epoch:3d}  loss {loss_text}{dev_text}  {stats['sentences_per_s']:.0f} sent/s  "
            f"lr {lr:.3g}  {stats['seconds']:.1f}s",
        )
        run.result.history.append(entry)
        run.result.epochs_run = epoch
        if improved and self.on_best is not None and self.distributed.is_main:
            assert dev is not None
            self.on_best({"epoch": epoch, **dev})
        if self.config.patience is not None and run.stale >= self.config.patience:
            self.log.record(
                {"event": "early_stop", "epoch": epoch},
                f"no dev improvement for {run.stale} epochs: stopping",
            )
            run.stopped_early = True
        run.epoch, run.current = epoch + 1, None
        self.save_checkpoint(source, run)

    # -- checkpoints -------------------------------------------------------------------------

    def save_checkpoint(self, source: BatchSource, run: RunProgress) -> None:
        """Write everything to ``checkpoint`` (rank 0, atomically: a file is either the old or the
        new checkpoint, never half of one). Every process's random state is gathered into it."""
        if self.checkpoint_path is None:
            return
        # what differs between processes: their random streams and their part of the current epoch
        streams = self.distributed.gather(_random_streams())
        epochs = self.distributed.gather(run.current)
        if not self.distributed.is_main:
            return
        source_state = getattr(source, "state_dict", None)
        state = {
            "world_size": self.distributed.world_size,
            "run": run,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict() if self.critic_optimizer else None,
            "scheduler": self.scheduler.state_dict(),
            "precision": self.precision.state_dict(),
            "source": source_state() if source_state is not None else None,
            "batch_order": self.batch_order.bit_generator.state,
            "streams": streams,
            "epochs": epochs,
        }
        staging = self.checkpoint_path.with_name(self.checkpoint_path.name + ".partial")
        torch.save(state, staging)
        os.replace(staging, self.checkpoint_path)

    def load_checkpoint(self, source: BatchSource) -> RunProgress:
        assert self.checkpoint_path is not None
        state = torch.load(self.checkpoint_path, map_location=self.device, weights_only=False)
        if state["world_size"] != self.distributed.world_size:
            raise ConfigError(
                f"{self.checkpoint_path} was written by {state['world_size']} training processes; resume it "
                f"with as many (this run has {self.distributed.world_size})"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.critic_optimizer is not None:
            self.critic_optimizer.load_state_dict(state["critic_optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.precision.load_state_dict(state["precision"])
        if state["source"] is not None:
            source.load_state_dict(state["source"])  # type: ignore[attr-defined]
        self.batch_order.bit_generator.state = state["batch_order"]
        _restore_random_streams(state["streams"][self.distributed.rank])
        run: RunProgress = state["run"]
        run.current = state["epochs"][self.distributed.rank]
        return run


def _random_streams() -> dict[str, Any]:
    """The global random states a training step draws from (dropout, word dropout)."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def _restore_random_streams(streams: dict[str, Any]) -> None:
    torch.set_rng_state(streams["torch"].cpu())
    if streams["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in streams["cuda"]])
    np.random.set_state(streams["numpy"])
    random.setstate(streams["python"])


class _stop_on_interrupt:
    """While training, Ctrl-C asks the loop to stop after the current update (and checkpoint),
    instead of killing it mid-update. A second Ctrl-C is not caught again until the next run."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: Any = None

    def __enter__(self) -> None:
        if self.trainer.checkpoint_path is None or threading.current_thread() is not threading.main_thread():
            return
        if (
            signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        ):  # started to ignore Ctrl-C (nohup, &): keep it so
            return

        def stop(signum: int, frame: FrameType | None) -> None:
            self.trainer.stop_requested = True
            signal.signal(signal.SIGINT, self.previous)  # a second Ctrl-C stops at once

        self.previous = signal.signal(signal.SIGINT, stop)

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
