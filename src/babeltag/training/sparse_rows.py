"""Sparse updates of embedding tables: only the rows of the words in a batch change.

A word table from aligned vectors is most of a tagger's parameters (200k words x 300 = 60M), but
one batch uses a few hundred of its rows. With ``word_embedding.update: sparse`` the table's
gradient is a sparse tensor (those rows only), and :class:`LazyRows` updates those rows alone:

    Adam     m_r <- b1 m_r + (1 - b1) g_r      v_r <- b2 v_r + (1 - b2) g_r^2      t_r <- t_r + 1
             w_r <- w_r - lr (m_r / (1 - b1^t_r)) / (sqrt(v_r / (1 - b2^t_r)) + eps)
    SGD      u_r <- mu u_r + g_r                w_r <- w_r - lr u_r
    AdaGrad  s_r <- s_r + g_r^2                 w_r <- w_r - lr g_r / (sqrt(s_r) + eps)

for each row r of the batch, and nothing for the others. Two things follow. The step costs the
batch's rows rather than the whole table. And a pretrained vector keeps its value until its word
is seen: dense Adam and momentum SGD keep moving every row a word once touched (the moments decay
but are not zero), and weight decay would shrink every row every step, so rare words would drift
away from the aligned space without any evidence from the data.

Each row counts its own Adam steps ``t_r``, so a word's first update is bias-corrected like dense
Adam's first step, however late in training the word first appears. A row updated in every step
gets exactly dense Adam's update (``tests/training/test_sparse_rows.py``); AdaGrad's lazy update is
dense AdaGrad's exactly, because a zero gradient leaves its accumulator and weights unchanged.

:class:`SplitOptimizer` puts the sparse tables under :class:`LazyRows` and every other parameter
under the configured dense optimiser, and looks like one optimiser to the trainer, the learning
rate schedule (the two share their parameter-group dicts) and checkpoints.
:func:`clip_grad_norm` is ``torch.nn.utils.clip_grad_norm_`` for a mix of dense and sparse
gradients (torch's rejects sparse ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from babeltag.config import OptimizerConfig

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
ADAGRAD_EPS = 1e-10  # torch.optim.Adagrad's


class LazyRows(torch.optim.Optimizer):
    """Adam, SGD (with momentum) or AdaGrad over the rows present in each sparse gradient."""

    def __init__(self, tables: Iterable[nn.Parameter], config: OptimizerConfig) -> None:
        defaults = {"lr": config.lr, "momentum": config.momentum, "weight_decay": config.weight_decay}
        super().__init__(list(tables), defaults)
        self.kind = config.type

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        assert closure is None, "LazyRows takes no closure"
        for group in self.param_groups:
            for table in group["params"]:
                if table.grad is None:
                    continue
                if not table.grad.is_sparse:
                    raise TypeError(
                        "LazyRows updates tables with sparse gradients (nn.Embedding(sparse=True)); "
                        f"got a dense gradient for a {tuple(table.shape)} parameter"
                    )
                # duplicates of a row (a word twice in the batch) are summed here
                gradient = table.grad.coalesce()
                rows = gradient.indices()[0]
                if rows.numel() == 0:
                    continue
                values = gradient.values()
                if group["weight_decay"]:
                    # L2 on the rows in the batch only: an unseen word is not pulled towards zero
                    values = values + group["weight_decay"] * table[rows]
                table.index_put_((rows,), table[rows] - self._row_update(table, rows, values, group))

    def _row_update(
        self, table: torch.Tensor, rows: torch.Tensor, gradient: torch.Tensor, group: dict[str, Any]
    ) -> torch.Tensor:
        """The amount subtracted from the rows ``rows`` of ``table``; updates their state."""
        state = self.state[table]
        lr = group["lr"]
        if self.kind == "adam":
            if not state:
                state["exp_avg"] = torch.zeros_like(table)
                state["exp_avg_sq"] = torch.zeros_like(table)
                state["row_steps"] = torch.zeros(len(table), dtype=table.dtype, device=table.device)
            beta1, beta2 = ADAM_BETAS
            steps = state["row_steps"][rows] + 1
            state["row_steps"][rows] = steps
            first = state["exp_avg"][rows].mul_(beta1).add_(gradient, alpha=1 - beta1)
            second = state["exp_avg_sq"][rows].mul_(beta2).addcmul_(gradient, gradient, value=1 - beta2)
            state["exp_avg"][rows] = first
            state["exp_avg_sq"][rows] = second
            correction1 = (1 - beta1**steps).unsqueeze(1)
            correction2 = (1 - beta2**steps).unsqueeze(1)
            # torch.optim.Adam's order of operations
            denominator = (second.sqrt() / correction2.sqrt()).add_(ADAM_EPS)
            return first / denominator * (lr / correction1)
        if self.kind == "sgd":
            if group["momentum"] == 0:
                return lr * gradient
            if not state:
                state["momentum_buffer"] = torch.zeros_like(table)
            velocity = state["momentum_buffer"][rows].mul_(group["momentum"]).add_(gradient)
            state["momentum_buffer"][rows] = velocity
            return lr * velocity
        if not state:
            state["sum"] = torch.zeros_like(table)
        accumulated = state["sum"][rows].addcmul_(gradient, gradient)
        state["sum"][rows] = accumulated
        return lr * gradient / accumulated.sqrt().add_(ADAGRAD_EPS)


class SplitOptimizer(torch.optim.Optimizer):
    """A dense optimiser and a :class:`LazyRows` stepped together as one optimiser.

    ``param_groups`` is the list of the two parts' own group dicts (not copies), so a learning-rate
    schedule, or a gradient scaler unscaling the gradients, reaches both parts.
    """

    def __init__(self, dense: torch.optim.Optimizer | None, rows: LazyRows) -> None:
        self.parts: list[torch.optim.Optimizer] = [part for part in (dense, rows) if part is not None]
        super().__init__([p for part in self.parts for g in part.param_groups for p in g["params"]], {})
        self.param_groups = [group for part in self.parts for group in part.param_groups]

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        assert closure is None, "SplitOptimizer takes no closure"
        for part in self.parts:
            part.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"parts": [part.state_dict() for part in self.parts]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("parts")
        if saved is None or len(saved) != len(self.parts):
            raise ValueError(
                "the checkpoint's optimiser state is not from a run with the same sparse and dense "
                "parameters (word_embedding.update changed?)"
            )
        for part, state in zip(self.parts, saved, strict=True):
            part.load_state_dict(state)
        # loading gives each part new group dicts; the schedule must reach those
        self.param_groups = [group for part in self.parts for group in part.param_groups]


def sparse_tables(model: nn.Module) -> list[nn.Parameter]:
    """The embedding tables that get sparse gradients (``nn.Embedding(sparse=True)``), trainable."""
    sparse = [m for m in model.modules() if isinstance(m, nn.Embedding) and m.sparse]
    return [parameter for m in sparse for parameter in m.parameters(recurse=False) if parameter.requires_grad]


def clip_grad_norm(parameters: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
    """Scale all gradients by ``min(1, max_norm / total norm)``, as ``clip_grad_norm_`` does, where
    the total norm also counts sparse gradients (their coalesced values); returns the total norm."""
    with_gradient = [p for p in parameters if p.grad is not None]
    sparse = [p for p in with_gradient if p.grad is not None and p.grad.is_sparse]
    dense = [p for p in with_gradient if p.grad is not None and not p.grad.is_sparse]
    if not sparse:
        return nn.utils.clip_grad_norm_(dense, max_norm)
    for table in sparse:
        assert table.grad is not None
        table.grad = table.grad.coalesce()  # a row's duplicates summed before they are squared
    norms = [torch.linalg.vector_norm(p.grad.values()) for p in sparse if p.grad is not None]
    if dense:
        norms.append(nn.utils.get_total_norm([p.grad for p in dense if p.grad is not None]))
    total = torch.linalg.vector_norm(torch.stack(norms))
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for parameter in with_gradient:
        assert parameter.grad is not None
        if parameter.grad.is_sparse:
            parameter.grad.values().mul_(scale)
        else:
            parameter.grad.mul_(scale)
    return total
