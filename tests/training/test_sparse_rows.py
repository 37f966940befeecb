"""Sparse embedding updates: the row-wise optimiser against dense torch optimisers and a slow
per-row version, clipping against clipping the densified gradients, and the trainer's wiring."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from babeltag.config import OptimizerConfig, TrainingConfig, WordEmbeddingConfig
from babeltag.training.optim import make_optimizer, make_scheduler
from babeltag.training.sparse_rows import LazyRows, SplitOptimizer, clip_grad_norm, sparse_tables

KINDS = [
    {"type": "adam", "lr": 0.01},
    {"type": "adam", "lr": 0.01, "weight_decay": 0.1},
    {"type": "sgd", "lr": 0.1},
    {"type": "sgd", "lr": 0.1, "momentum": 0.9},
    {"type": "adagrad", "lr": 0.1},
]


def _table(rows: int = 12, dim: int = 5, seed: int = 0) -> nn.Embedding:
    torch.manual_seed(seed)
    return nn.Embedding(rows, dim, sparse=True)


def _loss(table: nn.Embedding, ids: torch.Tensor, seed: int) -> torch.Tensor:
    """A loss whose gradient differs per row and per occurrence (a word twice in the batch)."""
    generator = torch.Generator().manual_seed(seed)
    target = torch.randn(*ids.shape, table.embedding_dim, generator=generator)
    return ((table(ids) - target) ** 2 * (1 + torch.arange(len(ids)).unsqueeze(1))).sum()


def _dense_optimizer(parameters: list[nn.Parameter], config: OptimizerConfig) -> torch.optim.Optimizer:
    if config.type == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.type == "sgd":
        return torch.optim.SGD(parameters, lr=config.lr, momentum=config.momentum)
    return torch.optim.Adagrad(parameters, lr=config.lr)


@pytest.mark.parametrize("settings", KINDS, ids=lambda k: "-".join(str(v) for v in k.values()))
def test_every_row_in_every_step_is_the_dense_optimiser(settings: dict[str, Any]) -> None:
    config = OptimizerConfig(**settings)
    sparse, dense = _table(), _table()
    dense.sparse = False
    lazy, reference = LazyRows([sparse.weight], config), _dense_optimizer([dense.weight], config)
    every_row = torch.arange(12).repeat(2)  # each row twice: duplicates are summed
    for step in range(6):
        for table, optimizer in ((sparse, lazy), (dense, reference)):
            optimizer.zero_grad()
            _loss(table, every_row, seed=step).backward()
            optimizer.step()
    # float32 sums in another order (the coalesced duplicates against the dense index_add)
    torch.testing.assert_close(sparse.weight, dense.weight, rtol=1e-5, atol=1e-6)


def _slow_lazy(
    weights: torch.Tensor, batches: list[torch.Tensor], gradients: list[torch.Tensor], config: OptimizerConfig
) -> torch.Tensor:
    """One row at a time, in plain arithmetic: the formulas of sparse_rows' docstring."""
    w = weights.clone().double()
    m, v, s, u = (torch.zeros_like(w) for _ in range(4))
    t = [0] * len(w)
    for ids, gradient in zip(batches, gradients, strict=True):
        for r in sorted(set(ids.tolist())):
            g = gradient[ids == r].sum(0).double() + config.weight_decay * w[r]
            if config.type == "adam":
                t[r] += 1
                m[r] = 0.9 * m[r] + 0.1 * g
                v[r] = 0.999 * v[r] + 0.001 * g * g
                m_hat, v_hat = m[r] / (1 - 0.9 ** t[r]), v[r] / (1 - 0.999 ** t[r])
                w[r] = w[r] - config.lr * m_hat / (v_hat.sqrt() + 1e-8)
            elif config.type == "sgd":
                u[r] = config.momentum * u[r] + g
                w[r] = w[r] - config.lr * u[r]
            else:
                s[r] = s[r] + g * g
                w[r] = w[r] - config.lr * g / (s[r].sqrt() + 1e-10)
    return w.float()


@pytest.mark.parametrize("settings", KINDS, ids=lambda k: "-".join(str(v) for v in k.values()))
def test_rows_not_in_a_batch_do_not_move_and_the_rest_follow_the_formulas(settings: dict[str, Any]) -> None:
    config = OptimizerConfig(**settings)
    table = _table()
    start = table.weight.detach().clone()
    lazy = LazyRows([table.weight], config)
    batches = [torch.tensor([1, 3, 3, 7]), torch.tensor([3, 9]), torch.tensor([1, 2, 2, 2])]
    gradients = []
    for step, ids in enumerate(batches):
        lazy.zero_grad()
        outputs = table(ids)
        target = torch.randn(outputs.shape, generator=torch.Generator().manual_seed(step))
        ((outputs - target) ** 2).sum().backward()
        gradients.append(2 * (outputs - target).detach())
        lazy.step()
    expected = _slow_lazy(start, batches, gradients, config)
    torch.testing.assert_close(table.weight.detach(), expected, rtol=1e-5, atol=1e-6)
    never_seen = [0, 4, 5, 6, 8, 10, 11]
    assert torch.equal(table.weight[never_seen], start[never_seen])  # weight decay included


def test_clipping_sparse_and_dense_gradients_is_clipping_them_densified() -> None:
    torch.manual_seed(0)
    table, layer = nn.Embedding(10, 4, sparse=True), nn.Linear(4, 3)
    twin_table, twin_layer = nn.Embedding(10, 4), nn.Linear(4, 3)
    twin_table.load_state_dict(table.state_dict())
    twin_layer.load_state_dict(layer.state_dict())
    ids = torch.tensor([2, 5, 5, 9])
    layer(table(ids)).pow(2).sum().mul(10).backward()
    twin_layer(twin_table(ids)).pow(2).sum().mul(10).backward()
    ours = clip_grad_norm([table.weight, *layer.parameters()], 1.0)
    theirs = nn.utils.clip_grad_norm_([twin_table.weight, *twin_layer.parameters()], 1.0)
    assert ours.item() > 1.0  # the clipping did something
    torch.testing.assert_close(ours, theirs)
    assert table.weight.grad is not None and twin_table.weight.grad is not None
    torch.testing.assert_close(table.weight.grad.to_dense(), twin_table.weight.grad)
    for mine, twin in zip(layer.parameters(), twin_layer.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, twin.grad)


class _Tagger(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.words = nn.Embedding(20, 4, sparse=True)
        self.frozen = nn.Embedding(20, 4, sparse=True)
        self.frozen.weight.requires_grad_(False)
        self.output = nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.output(torch.cat([self.words(ids), self.frozen(ids)], -1)).pow(2).sum()


def test_make_optimizer_splits_off_the_sparse_tables_and_the_schedule_reaches_both() -> None:
    model = _Tagger()
    assert [id(p) for p in sparse_tables(model)] == [id(model.words.weight)]
    optimizer = make_optimizer(
        model.parameters(), OptimizerConfig(type="sgd", lr=0.5, momentum=0.9), sparse=sparse_tables(model)
    )
    assert isinstance(optimizer, SplitOptimizer)
    scheduler = make_scheduler(optimizer, TrainingConfig(lr_decay=0.5, lr_decay_every=1))
    model(torch.tensor([1, 2])).backward()
    optimizer.step()
    scheduler.step()
    assert [part.param_groups[0]["lr"] for part in optimizer.parts] == [0.25, 0.25]
    # a dense model is unchanged: one torch optimiser
    assert isinstance(make_optimizer(nn.Linear(2, 2).parameters(), OptimizerConfig()), torch.optim.Adam)


def test_split_optimizer_state_round_trips_and_refuses_another_layout() -> None:
    model = _Tagger()
    config = OptimizerConfig(type="adam", lr=0.1)
    optimizer = make_optimizer(model.parameters(), config, sparse=sparse_tables(model))
    model(torch.tensor([1, 2, 2])).backward()
    optimizer.step()
    saved = optimizer.state_dict()
    again = make_optimizer(model.parameters(), config, sparse=sparse_tables(model))
    again.load_state_dict(saved)
    assert isinstance(again, SplitOptimizer)
    lazy_state = again.parts[1].state[model.words.weight]
    assert lazy_state["row_steps"].tolist()[:4] == [0, 1, 1, 0]
    # the groups a schedule changes are the parts' groups after loading, too
    again.param_groups[0]["lr"] = again.param_groups[1]["lr"] = 0.05
    assert [part.param_groups[0]["lr"] for part in again.parts] == [0.05, 0.05]
    with pytest.raises(ValueError, match="word_embedding.update"):
        again.load_state_dict({"parts": saved["parts"][:1]})


def test_a_frozen_table_cannot_be_updated_sparsely() -> None:
    with pytest.raises(ValueError, match="frozen"):
        WordEmbeddingConfig(freeze=True, update="sparse")
