"""Data-parallel training over processes started by ``torchrun``, on PyTorch's own engine.

    torchrun --nproc_per_node 2 -m babeltag train CONFIG --out DIR

Every process builds the same model from the same seed and plans the same epoch (same batch order
generator); each update's batch is then split between the processes (``ShardedSource``), so a
multi-dataset schedule keeps its proportions exactly: an update is one dataset's batch whichever
process trains on which part of it. ``training.batch_size`` is per process; the planned batches are
``batch_size x world_size`` sentences. DistributedDataParallel averages the gradients; each
process's loss is scaled by its share of the update's sentences, so the average is the loss of the
whole batch, as if one process had trained on it. Only rank 0 writes logs, checkpoints and models.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from babeltag.errors import ConfigError


@dataclass(frozen=True)
class Distributed:
    """This process's place among the training processes (world size 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @classmethod
    def from_environment(cls, device_name: str) -> Distributed:
        """Join the process group when started by torchrun (``WORLD_SIZE`` > 1): NCCL between GPUs,
        gloo between CPU processes."""
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        if world_size == 1:
            return cls()
        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not dist.is_initialized():
            uses_cuda = device_name.startswith("cuda") or (
                device_name == "auto" and torch.cuda.is_available()
            )
            backend = "nccl" if uses_cuda else "gloo"
            if uses_cuda:
                torch.cuda.set_device(local_rank)
            dist.init_process_group(backend=backend)
        return cls(rank=rank, world_size=world_size, local_rank=local_rank)

    # -- collectives (no-ops for one process) ------------------------------------------------

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.active:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def any(self, flag: bool) -> bool:
        """True on every rank if it is true on one (e.g. one process got Ctrl-C)."""
        if not self.active:
            return flag
        tensor = torch.tensor([int(flag)])
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def total(self, value: float) -> float:
        if not self.active:
            return value
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor)
        return float(tensor.item())

    def average_gradients(self, parameters: Iterable[nn.Parameter]) -> None:
        """For updates outside DistributedDataParallel's forward (a critic's own steps)."""
        if not self.active:
            return
        for parameter in parameters:
            if parameter.grad is not None:
                dist.all_reduce(parameter.grad)
                parameter.grad /= self.world_size

    def average_sparse_gradients(self, tables: Sequence[nn.Parameter]) -> None:
        """Sparse gradients (a word table's rows in the batch) averaged over the processes, as
        DistributedDataParallel averages the dense ones: summed and divided by the number of
        processes. A process whose update did not use a table adds no rows. The rows and values of
        every process are gathered, since NCCL cannot all-reduce sparse tensors."""
        if not self.active:
            return
        for table in tables:
            if table.grad is None:
                rows = torch.zeros(0, dtype=torch.long, device=table.device)
                values = torch.zeros(0, table.shape[1], dtype=table.dtype, device=table.device)
            else:
                gradient = table.grad.coalesce()
                rows, values = gradient.indices()[0], gradient.values()
            counts = [torch.zeros(1, dtype=torch.long, device=table.device) for _ in range(self.world_size)]
            dist.all_gather(counts, torch.tensor([len(rows)], device=table.device))
            longest = int(max(count.item() for count in counts))
            if longest == 0:
                continue  # no process used the table in this update
            padding = longest - len(rows)
            rows = torch.cat([rows, rows.new_zeros(padding)])
            values = torch.cat([values, values.new_zeros(padding, values.shape[1])])
            every_rows = [torch.empty_like(rows) for _ in range(self.world_size)]
            every_values = [torch.empty_like(values) for _ in range(self.world_size)]
            dist.all_gather(every_rows, rows)
            dist.all_gather(every_values, values)
            used = [int(count.item()) for count in counts]
            table.grad = torch.sparse_coo_tensor(
                torch.cat([r[:n] for r, n in zip(every_rows, used, strict=True)]).unsqueeze(0),
                torch.cat([v[:n] for v, n in zip(every_values, used, strict=True)]) / self.world_size,
                table.shape,
            ).coalesce()

    def wrap(
        self,
        model: nn.Module,
        device: torch.device,
        find_unused_parameters: bool = False,
        averaged_outside: Sequence[nn.Parameter] = (),
    ) -> nn.Module:
        """The module whose forward trains: DistributedDataParallel over ``model`` when there are
        several processes. ``find_unused_parameters`` for models whose updates use only some of
        their parameters (costs a walk over the graph each update). ``averaged_outside``:
        parameters DDP leaves alone, averaged by the trainer (sparse word tables: DDP cannot
        reduce a sparse gradient that one process lacks)."""
        if not self.active:
            return model
        outside = {id(p) for p in averaged_outside}
        ignored = [name for name, p in model.named_parameters() if id(p) in outside]
        if ignored:
            nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, ignored)
        return nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=find_unused_parameters,
        )

    def finish(self) -> None:
        if self.active and dist.is_initialized():
            dist.barrier()
            dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# sharding updates


@dataclass(frozen=True)
class Shard:
    """This process's part of one update, and how many sentences the whole update has."""

    step: Any
    total: int


def shard_step(step: Any, rank: int, world_size: int) -> Any:
    """Every ``world_size``-th sentence of an update from position ``rank``: a list of sentence
    indices (one dataset), or (dataset, indices) pairs (a multi-dataset step). Batches are sorted by
    length, so the shards are of similar lengths."""
    if step and isinstance(step[0], tuple):
        shards = [(name, indices[rank::world_size]) for name, indices in step]
        return [(name, indices) for name, indices in shards if indices]
    return step[rank::world_size]


class ShardedSource:
    """A BatchSource (trainer.py) whose updates are split between the processes. Updates with fewer
    sentences than processes (a pass's last, short batch) are skipped by all of them alike."""

    def __init__(self, source: Any, distributed: Distributed) -> None:
        if not distributed.active:
            raise ConfigError("ShardedSource needs several processes")
        self.source = source
        self.distributed = distributed
        self.skipped = 0
        # a critic (MAN) draws its own batches of every language when the source can
        self.critic_inputs = getattr(source, "critic_inputs", None)

    def epoch(self) -> list[Shard]:
        shards = []
        for step in self.source.epoch():
            total = self.source.sentences(step)
            parts = [
                shard_step(step, r, self.distributed.world_size) for r in range(self.distributed.world_size)
            ]
            if any(not part for part in parts):
                self.skipped += 1
                continue
            shards.append(Shard(parts[self.distributed.rank], total))
        return shards

    def inputs(self, shard: Shard) -> Any:
        return self.source.inputs(shard.step)

    def sentences(self, shard: Shard) -> int:
        return int(self.source.sentences(shard.step))

    def loss_scale(self, shard: Shard) -> float:
        """DistributedDataParallel averages over processes; a process with more of the update's
        sentences must weigh more for the average to be the whole batch's mean."""
        return self.distributed.world_size * self.sentences(shard) / shard.total

    def state_dict(self) -> dict[str, Any]:
        inner = getattr(self.source, "state_dict", None)
        return {"source": inner() if inner is not None else None, "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("source") is not None:
            self.source.load_state_dict(state["source"])
        self.skipped = int(state.get("skipped", 0))
