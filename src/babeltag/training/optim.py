"""Optimisers and learning-rate schedules named in the config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from babeltag.config import OptimizerConfig, TrainingConfig
from babeltag.training.sparse_rows import LazyRows, SplitOptimizer


def make_optimizer(
    parameters: Iterable[torch.nn.Parameter],
    config: OptimizerConfig,
    learning_rates: Mapping[int, float] | None = None,
    sparse: Iterable[torch.nn.Parameter] = (),
) -> torch.optim.Optimizer:
    """``learning_rates``: parameters (by id) with a learning rate of their own (e.g. a pretrained
    encoder, fine-tuned with a smaller one than the freshly initialised head). ``sparse``: embedding
    tables with sparse gradients, updated row by row (``sparse_rows.LazyRows``) beside the rest."""
    trainable = [p for p in parameters if p.requires_grad]
    tables = {id(p) for p in sparse}
    if tables & {id(p) for p in trainable}:
        rest = [p for p in trainable if id(p) not in tables]
        dense = make_optimizer(rest, config, learning_rates) if rest else None
        return SplitOptimizer(dense, LazyRows([p for p in trainable if id(p) in tables], config))
    own = learning_rates or {}
    groups: list[dict[str, Any]] = [{"params": [p for p in trainable if id(p) not in own]}]
    for lr in sorted(set(own.values())):
        groups.append({"params": [p for p in trainable if own.get(id(p)) == lr], "lr": lr})
    groups = [group for group in groups if group["params"]]
    # the fused kernels update each parameter in one pass instead of ~10 elementwise ops: the
    # word-embedding matrix is most of the parameters, and the step time drops by ~10 ms a batch
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in trainable)
    if config.type == "adam":
        return torch.optim.Adam(groups, lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    if config.type == "sgd":
        sgd = torch.optim.SGD(
            groups, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, fused=fused
        )
        if config.momentum > 0:
            # Start every momentum buffer at zero rather than unset: in multi-dataset training a step
            # updates only the parts its batch used, and the fused kernel rejects a mix of set and
            # unset buffers. With no dampening, zero * momentum + grad is what an unset buffer would
            # have become, so the updates are unchanged.
            for parameter in trainable:
                sgd.state[parameter]["momentum_buffer"] = torch.zeros_like(parameter)
        return sgd
    return torch.optim.Adagrad(groups, lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainingConfig
) -> torch.optim.lr_scheduler.StepLR:
    """Exponential decay: lr * lr_decay every ``lr_decay_every`` epochs or steps (the trainer calls
    ``step()`` once per unit named by ``lr_decay_unit``)."""
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_decay_every, gamma=config.lr_decay)
