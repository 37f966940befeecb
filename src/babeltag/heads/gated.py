"""Gated shared/private output layer: states ``[..., D]`` -> label scores ``[..., K]``.

Lin et al. (2018), "A Multi-lingual Multi-task Architecture for Low-resource Sequence Labeling"
(ACL), let languages that share a task share the layer that scores that task's labels, and give
each language a private layer beside it; a learnt gate mixes the two, label by label::

    g = sigmoid(W_g h + b_g)
    y = g * y_private + (1 - g) * y_shared

Who shares what is decided by who is handed the same instance:

* ``shared``: one per task, the same ``nn.Linear`` passed to the GatedOutput of every language
  that has this task;
* ``private``: one per language of this task (it scores this task's labels, so it cannot serve a
  task with another label set);
* ``gate``: one per (task, language) dataset.
"""

from __future__ import annotations

import torch
from torch import nn


def projection_dims(module: nn.Module) -> tuple[int, int] | None:
    """The (input, output) sizes a module declares: ``in_features``/``out_features`` for an
    ``nn.Linear``, ``input_dim``/``output_dim`` for babeltag's parts; None if it declares neither."""
    if isinstance(module, nn.Linear):
        return module.in_features, module.out_features
    input_dim, output_dim = getattr(module, "input_dim", None), getattr(module, "output_dim", None)
    if isinstance(input_dim, int) and isinstance(output_dim, int):
        return input_dim, output_dim
    return None


def check_projection(projection: nn.Module, input_dim: int, num_labels: int, owner: str) -> None:
    """ValueError unless ``projection`` maps input_dim -> num_labels, where it says what it maps."""
    dims = projection_dims(projection)
    if dims is not None and dims != (input_dim, num_labels):
        raise ValueError(
            f"{owner} needs a projection from {input_dim} to {num_labels} labels, "
            f"but the one given maps {dims[0]} -> {dims[1]}"
        )


class GatedOutput(nn.Module):
    """``y = g * private(h) + (1 - g) * shared(h)`` with ``g = sigmoid(gate(h))``, a gate per label.

    All three layers map input_dim -> num_labels. Use it as a head's ``projection``.
    """

    def __init__(self, shared: nn.Linear, private: nn.Linear, gate: nn.Linear) -> None:
        super().__init__()
        layers = {"shared": shared, "private": private, "gate": gate}
        dims = {name: (layer.in_features, layer.out_features) for name, layer in layers.items()}
        if len(set(dims.values())) > 1:
            described = ", ".join(f"{name} maps {d[0]} -> {d[1]}" for name, d in dims.items())
            raise ValueError(f"the shared, private and gate layers must have the same shapes: {described}")
        self.input_dim = shared.in_features
        self.output_dim = shared.out_features
        self.shared = shared
        self.private = private
        self.gate = gate

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.gate(h))
        return g * self.private(h) + (1 - g) * self.shared(h)
