"""Where a model trains and in what precision: ``training.device`` and ``training.mixed_precision``.

Models are built on the CPU and moved once; every batch is moved as it is used (``to_device``), so
nothing else in the library needs to know the device.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from babeltag.data.batching import Batch
from babeltag.errors import ConfigError


def resolve_device(name: str, local_rank: int | None = None) -> torch.device:
    """``auto`` -> the GPU when there is one, else the CPU. Under torchrun (``local_rank`` given),
    ``cuda`` means the GPU of this process's local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"training.device: {name!r} asked for, but torch sees no CUDA device; use cpu or auto"
        )
    device = torch.device(name)
    if device.index is None:
        device = torch.device("cuda", local_rank or 0)
    if device.index >= torch.cuda.device_count():
        raise ConfigError(
            f"training.device: {name!r}, but there are only {torch.cuda.device_count()} CUDA devices "
            f"(cuda:0 to cuda:{torch.cuda.device_count() - 1})"
        )
    return device


def check_device(device: str, mixed_precision: str, local_rank: int | None = None) -> torch.device:
    """The device a run will train on, with its precision checked: called before anything is
    written, so a run that cannot start leaves no run directory behind."""
    resolved = resolve_device(device, local_rank)
    Precision(mixed_precision, resolved)
    return resolved


def to_device(inputs: Any, device: torch.device) -> Any:
    """A step's inputs on ``device``: a Batch, or (name, Batch) pairs of a multi-dataset step."""
    if device.type == "cpu":
        return inputs  # batches are made on the CPU
    if isinstance(inputs, Batch):
        return inputs.to(device)
    if isinstance(inputs, list):
        return [to_device(item, device) for item in inputs]
    if isinstance(inputs, tuple):
        return tuple(to_device(item, device) for item in inputs)
    return inputs


class Precision:
    """Autocast around the forward pass, and for fp16 a gradient scaler around the update (fp16's
    small range underflows small gradients; bf16 has float32's range and needs none)."""

    def __init__(self, mode: str, device: torch.device) -> None:
        if mode != "off" and device.type != "cuda":
            raise ConfigError(
                f"training.mixed_precision: {mode} is for CUDA devices; training.device is {device}. "
                "Set mixed_precision: off to train in float32 on the CPU"
            )
        if mode == "bf16" and not torch.cuda.is_bf16_supported():
            raise ConfigError("training.mixed_precision: bf16 is not supported by this GPU; use fp16")
        self.mode = mode
        self.device = device
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(mode)
        self.scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.dtype is None:
            yield
            return
        with torch.autocast(self.device.type, dtype=self.dtype):
            yield

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Before clipping: the gradients in their true scale."""
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.scaler is not None:
            self.scaler.step(optimizer)  # skipped when the scaled gradients overflowed
            self.scaler.update()
        else:
            optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
