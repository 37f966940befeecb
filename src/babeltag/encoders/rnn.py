"""Bidirectional LSTM/GRU layers over padded batches, exact without padding effects, fast on CPU.

A bidirectional RNN on a right-padded batch would let the backward direction read the padding
before the real words. Here the backward direction runs a forward recurrence over each sequence
*reversed within its own length*, so both directions see a sequence of the same length that
starts at step 0. Sorting the sequences by length (longest first) then makes the sequences still
running at step ``t`` the first ``n_t`` rows, for both directions at once. Rows are packed
time-major, each row holding both directions (``[P, 2, ...]``, ``P`` = the number of real
positions), e.g. for lengths 3, 2, 2, 1:

    step 0: rows 0-3    step 1: rows 4-6    step 2: row 7

The recurrence and its backward pass (backpropagation through time) are written out by hand
instead of calling ``nn.LSTM``, so that nothing is computed on padding (most of a character
encoder's input), both directions share one step loop, and a step costs as few operations as
possible: two small matrix products (one per direction) and a few element-wise operations on the
running rows. The input projections of all steps, and the weight gradients, are one matrix
product per direction (the bias rides along as a column of ones). The backward pass first
computes, for all steps at once, the factors that turn the gradient of a state into the
gradients of the gate pre-activations, which leaves four to six operations per step. Without
gradients (inference) the input projections are made step by step into a small buffer instead.

Parameters are stacked over the two directions, ``[2, gates * H, ...]``, with gate orders chosen
so that the operations of a step read contiguous slices: LSTM ``(o, i, f, g)`` (the sigmoid gates
first, the gates whose gradient goes through the cell last); GRU input weights ``(r, z, n)`` and
recurrent weights ``(n, r, z)`` (see :class:`_GRU`). Initialisation is that of ``nn.LSTM`` and
``nn.GRU`` (uniform in ``±1/sqrt(H)``); an LSTM starts with biases 0 and forget-gate bias 1
(Jozefowicz et al. 2015: remember by default early in training). The LSTM keeps the two bias
vectors of ``nn.LSTM``, so that an optimiser moves the effective bias as it did before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

_GATES = {"lstm": 4, "gru": 3}


@dataclass
class _Packing:
    """Where each packed row comes from, for a batch ``[B, T, ...]`` and its lengths.

    Step ``t`` owns ``steps[t]`` consecutive packed rows, and they continue the first
    ``steps[t]`` rows of step ``t - 1``. Packed states are stored flat as ``[P * 2 + 1, H]``:
    row ``2 p + d`` is direction ``d`` at packed row ``p``; the extra last row is zeros.
    """

    steps: list[int]
    source: torch.Tensor  # [P, 2]: the flat input position b * T + t read by (forward, backward)
    packed_to_output: torch.Tensor  # [P * 2]: the row of the outputs viewed as [B * T * 2, H]
    output_to_packed: torch.Tensor  # [B * T * 2]: the flat packed row, or the zero row for padding
    final_rows: torch.Tensor  # [B * 2]: flat packed rows of the final states (zero row if empty)

    @property
    def rows(self) -> int:
        return self.source.shape[0]

    def per_step(self, buffer: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Views of a packed ``[P, ...]`` buffer, one per step."""
        return buffer.split(self.steps)

    def previous(self, buffer: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Views of a packed ``[P, ...]`` buffer for steps 1, 2, ...: the rows of the step before
        that continue into the step (item ``t - 1`` for step ``t``)."""
        sizes = []
        for before, now in zip(self.steps, self.steps[1:], strict=False):
            sizes += [now, before - now]
        parts = buffer.split([*sizes, self.steps[-1]])
        return parts[0 : len(sizes) : 2]

    def previous_rows(self, buffer: torch.Tensor) -> torch.Tensor:
        """The rows of :meth:`previous` as one ``[P - steps[0], ...]`` tensor (empty for one step)."""
        parts = self.previous(buffer)
        return torch.cat(parts) if parts else buffer[:0]

    def running(self, buffer: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Views of the first ``steps[t]`` rows of a ``[steps[0], ...]`` buffer, one per step: a
        buffer that follows the running rows from step to step."""
        views = {n: buffer[:n] for n in set(self.steps)}
        return tuple(views[n] for n in self.steps)


class _StepProjection:
    """Without a backward pass to keep them for, the input projections are made one step at a
    time into a small buffer that stays in cache, rather than for all steps at once."""

    def __init__(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, packing: _Packing) -> None:
        D, n0 = x.shape[2], packing.steps[0]
        self.x = x.reshape(-1, D)
        self.index = packing.source.view(-1).split([2 * n for n in packing.steps])
        self.weight = [weight[d].t() for d in range(2)]
        self.bias = bias
        inputs = x.new_empty(n0 * 2, D)
        self.out = x.new_empty(n0, 2, weight.shape[1])
        rows = {n: inputs[: 2 * n] for n in set(packing.steps)}  # both directions' rows
        self.inputs = tuple(rows[n] for n in packing.steps)
        inputs_per_direction = inputs.view(n0, 2, D)
        self.inputs_dir = [packing.running(inputs_per_direction[:, d]) for d in range(2)]
        self.out_dir = [packing.running(self.out[:, d]) for d in range(2)]

    def __call__(self, t: int) -> None:
        torch.index_select(self.x, 0, self.index[t], out=self.inputs[t])
        for d in range(2):
            torch.addmm(self.bias[d], self.inputs_dir[d][t], self.weight[d], out=self.out_dir[d][t])


def _pack(lengths: torch.Tensor, T: int, device: torch.device) -> _Packing:
    # index bookkeeping on the CPU in numpy: a few dozen small array operations, each far
    # cheaper there than as a torch operation
    L = lengths.detach().cpu().numpy().astype(np.int64, copy=False)
    B = L.shape[0]
    order = np.argsort(-L, kind="stable")
    sorted_lengths = L[order]
    longest = int(sorted_lengths[0]) if B > 0 else 0
    if longest > T:
        raise ValueError(f"a sequence length ({longest}) exceeds the padded length ({T})")
    steps = B - np.cumsum(np.bincount(sorted_lengths, minlength=longest + 1))[:longest]  # #(length > t)
    P = int(steps.sum())
    offsets = np.zeros(longest + 1, dtype=np.int64)
    np.cumsum(steps, out=offsets[1:])
    t = np.repeat(np.arange(longest), steps)
    rank = np.arange(P) - offsets[t]
    sequence = order[rank]
    source = np.stack([sequence * T + t, sequence * T + sorted_lengths[rank] - 1 - t], axis=1)
    packed_to_output = (source * 2 + np.arange(2)).reshape(-1)
    output_to_packed = np.full(B * T * 2, 2 * P, dtype=np.int64)
    output_to_packed[packed_to_output] = np.arange(2 * P)
    # a sequence ends, in both directions, at packed row offset[length - 1] + its rank
    last = offsets[np.maximum(sorted_lengths - 1, 0)] + np.arange(B)
    last = np.where(sorted_lengths > 0, 2 * last, 2 * P)
    final = np.empty(B, dtype=np.int64)
    final[order] = last
    final_rows = np.stack([final, final + (final < 2 * P)], axis=1).reshape(-1)

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(device)

    return _Packing(
        steps.tolist(), tensor(source), tensor(packed_to_output), tensor(output_to_packed), tensor(final_rows)
    )


def _gather_inputs(x: torch.Tensor, packing: _Packing) -> torch.Tensor:
    """``x [B, T, D]`` -> the packed inputs of both directions, with a column of ones appended so
    that the bias rides along in the matrix products: ``[P, 2, D + 1]``."""
    D = x.shape[2]
    inputs = x.new_empty(packing.rows * 2, D + 1)
    inputs[:, D] = 1.0
    torch.index_select(x.reshape(-1, D), 0, packing.source.view(-1), out=inputs[:, :D])
    return inputs.view(packing.rows, 2, D + 1)


def _scatter_input_grads(d_inputs: torch.Tensor, packing: _Packing, shape: torch.Size) -> torch.Tensor:
    """The adjoint of :func:`_gather_inputs`, for ``d_inputs [2, P, D]`` (direction-major)."""
    d_x = d_inputs.new_zeros(shape[0] * shape[1], shape[2])
    return d_x.index_add_(0, packing.source.t().reshape(-1), d_inputs.view(-1, shape[2])).view(shape)


def _new_states(like: torch.Tensor, packing: _Packing, H: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A flat packed state buffer ``[P * 2 + 1, H]`` with its zero row, and its ``[P, 2, H]`` view."""
    flat = like.new_empty(packing.rows * 2 + 1, H)
    flat[-1].zero_()
    return flat, flat[:-1].view(packing.rows, 2, H)


def _outputs(
    flat_states: torch.Tensor, packing: _Packing, B: int, T: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat packed states -> (outputs ``[B, T, 2H]`` with zero padding, final states ``[B, 2H]``)."""
    H = flat_states.shape[1]
    out = flat_states.index_select(0, packing.output_to_packed).view(B, T, 2 * H)
    final = flat_states.index_select(0, packing.final_rows).view(B, 2 * H)
    return out, final


def _state_grads(
    d_out: torch.Tensor | None, d_final: torch.Tensor | None, packing: _Packing, like: torch.Tensor, H: int
) -> torch.Tensor:
    """The adjoint of :func:`_outputs`: gradients w.r.t. the packed states ``[P, 2, H]``."""
    P = packing.rows
    d_flat = like.new_empty(P * 2 + 1, H)
    if d_out is not None:
        torch.index_select(d_out.reshape(-1, H), 0, packing.packed_to_output, out=d_flat[:-1])
        d_flat[-1].zero_()
    else:
        d_flat.zero_()
    if d_final is not None:
        d_flat.index_add_(0, packing.final_rows, d_final.reshape(-1, H))
    return d_flat[:-1].view(P, 2, H)


def _project(inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``inputs [P, 2, D + 1]`` times each direction's ``weight [2, G, D]`` and ``bias [2, G]``
    -> ``[P, 2, G]``."""
    weight = torch.cat([weight, bias.unsqueeze(2)], dim=2)
    out = inputs.new_empty(inputs.shape[0], 2, weight.shape[1])
    for d in range(2):
        torch.mm(inputs[:, d], weight[d].t(), out=out[:, d])
    return out


def _projection_grads(
    ctx: Any,
    d_pre: torch.Tensor,
    inputs: torch.Tensor,
    weight: torch.Tensor,
    x_shape: torch.Size,
    packing: _Packing,
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """The adjoint of :func:`_project` for ``d_pre [P, 2, G]``: the gradients of the layer input
    ``x``, of ``weight`` and of ``bias``."""
    d_x = d_weight = d_bias = None
    if ctx.needs_input_grad[0]:
        d_inputs = torch.bmm(d_pre.transpose(0, 1), weight)  # [2, P, D]
        d_x = _scatter_input_grads(d_inputs, packing, x_shape)
    if ctx.needs_input_grad[1] or ctx.needs_input_grad[3] or ctx.needs_input_grad[4]:
        d_weight_and_bias = torch.bmm(d_pre.permute(1, 2, 0), inputs.transpose(0, 1))
        d_weight, d_bias = d_weight_and_bias[..., :-1], d_weight_and_bias[..., -1]
    return d_x, d_weight, d_bias


def _recurrent_grad(d_pre: torch.Tensor, previous_states: torch.Tensor, packing: _Packing) -> torch.Tensor:
    """Gradient of the recurrent weights ``[2, G, H]`` from the pre-activation gradients of steps
    1, 2, ... (``d_pre [P, 2, G]``) and the states they read (``previous_states [P - n_0, 2, H]``)."""
    return torch.bmm(d_pre[packing.steps[0] :].permute(1, 2, 0), previous_states.transpose(0, 1))


class _LSTM(torch.autograd.Function):
    """Both directions of a bidirectional LSTM layer over packed rows; gates ``(o, i, f, g)``.

    Forward: ``c = f * c_prev + i * g``, ``h = o * tanh(c)``. Backward, with ``dh`` the full
    gradient of ``h`` and ``dc`` that of ``c`` (``dc = dc_next * f_next + dh * o * (1 - tanh(c)^2)``),
    the pre-activation gradients are ``dh * A_o`` for ``o`` and ``dc * A`` for ``(i, f, g)``, where
    ``A_o = tanh(c) o (1 - o)``, ``A_i = g i (1 - i)``, ``A_f = c_prev f (1 - f)``, ``A_g = i (1 - g^2)``
    do not depend on the gradients and are computed for all steps before the loop.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
        packing: _Packing,
        training: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        H = weight_hh.shape[2]
        P, steps = packing.rows, packing.steps
        ctx.set_materialize_grads(False)
        bias = bias_ih + bias_hh
        if training:  # [P, 2, 4H]: the input projections of all steps, activated in place step by step
            inputs = _gather_inputs(x, packing)
            gates = _project(inputs, weight_ih, bias)
            views = packing.per_step
        else:
            project = _StepProjection(x, weight_ih, bias, packing)
            gates, views = project.out, packing.running
        flat_states, states = _new_states(gates, packing, H)
        previous = packing.previous
        h_t = packing.per_step(states)
        if training:  # keep every step's cell for the backward pass
            cells, cells_tanh = gates.new_empty(P, 2, H), gates.new_empty(P, 2, H)
            c_t, c_prev, tc_t = views(cells), previous(cells), views(cells_tanh)
        else:  # update one running cell in place
            c_t, tc_t = (
                packing.running(gates.new_empty(steps[0], 2, H)),
                packing.running(gates.new_empty(steps[0], 2, H)),
            )
            c_prev = c_t[1:]
        sig_t, u_t = views(gates[..., : 3 * H]), views(gates[..., 3 * H :])
        o_t, i_t, f_t = views(gates[..., :H]), views(gates[..., H : 2 * H]), views(gates[..., 2 * H : 3 * H])
        g_dir = [views(gates[:, d]) for d in range(2)]
        h_prev_dir = [previous(states[:, d]) for d in range(2)]
        w_dir = [weight_hh[d].t() for d in range(2)]
        for t in range(len(steps)):
            if not training:
                project(t)
            if t > 0:
                for d in range(2):
                    g_dir[d][t].addmm_(h_prev_dir[d][t - 1], w_dir[d])
            sig_t[t].sigmoid_()
            u_t[t].tanh_()
            if t > 0:
                torch.mul(f_t[t], c_prev[t - 1], out=c_t[t])
                c_t[t].addcmul_(i_t[t], u_t[t])
            else:
                torch.mul(i_t[t], u_t[t], out=c_t[t])
            torch.tanh(c_t[t], out=tc_t[t])
            torch.mul(o_t[t], tc_t[t], out=h_t[t])

        if training:
            ctx.save_for_backward(weight_ih, weight_hh, inputs, gates, cells, cells_tanh, states)
            ctx.packing, ctx.x_shape = packing, x.shape
        return _outputs(flat_states, packing, B, T)

    @staticmethod
    def backward(
        ctx: Any, d_out: torch.Tensor | None, d_final: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, ...]:
        weight_ih, weight_hh, inputs, gates, cells, cells_tanh, states = ctx.saved_tensors
        packing: _Packing = ctx.packing
        H = weight_hh.shape[2]
        steps, n0 = packing.steps, packing.steps[0]
        d_states = _state_grads(d_out, d_final, packing, gates, H)  # gets the recurrent grads too
        o, i, f, g = gates.split(H, dim=2)
        previous_states = packing.previous_rows(states)

        # the factors A (see the class docstring), in the buffer that becomes the gate gradients
        d_gates = torch.empty_like(gates)
        a_sig = d_gates[..., : 3 * H]
        a_o, a_i, a_f, a_g = d_gates.split(H, dim=2)
        sig = gates[..., : 3 * H]
        torch.addcmul(sig, sig, sig, value=-1.0, out=a_sig)  # s (1 - s)
        a_o.mul_(cells_tanh)
        a_i.mul_(g)
        a_f[:n0].zero_()
        a_f[n0:].mul_(packing.previous_rows(cells))
        torch.mul(g, g, out=a_g)
        torch.addcmul(i, i, a_g, value=-1.0, out=a_g)
        # dh -> dc: o (1 - tanh(c)^2)
        h_to_c = torch.mul(cells_tanh, cells_tanh)
        torch.addcmul(o, o, h_to_c, value=-1.0, out=h_to_c)

        per_step, previous = packing.per_step, packing.previous
        d_cell = gates.new_zeros(n0, 2, H)  # rows a step adds going backwards are still 0
        dc_t, dc_gates_t = packing.running(d_cell), packing.running(d_cell.unsqueeze(2))
        dh_t, h_to_c_t, f_t = per_step(d_states), per_step(h_to_c), per_step(f)
        d_o_t, d_ifg_t = per_step(a_o), per_step(d_gates[..., H:].unflatten(2, (3, H)))
        dg_dir = [per_step(d_gates[:, d]) for d in range(2)]
        dh_prev_dir = [previous(d_states[:, d]) for d in range(2)]
        for t in range(len(steps) - 1, -1, -1):
            dc, dh = dc_t[t], dh_t[t]
            dc.addcmul_(dh, h_to_c_t[t])
            d_ifg_t[t].mul_(dc_gates_t[t])
            d_o_t[t].mul_(dh)
            if t > 0:
                dc.mul_(f_t[t])
                for d in range(2):
                    dh_prev_dir[d][t - 1].addmm_(dg_dir[d][t], weight_hh[d])

        d_x, d_weight_ih, d_bias = _projection_grads(ctx, d_gates, inputs, weight_ih, ctx.x_shape, packing)
        d_weight_hh = _recurrent_grad(d_gates, previous_states, packing) if ctx.needs_input_grad[2] else None
        return d_x, d_weight_ih, d_weight_hh, d_bias, d_bias, None, None


class _GRU(torch.autograd.Function):
    """Both directions of a bidirectional GRU layer over packed rows.

    ``r = s(x W_ir + b_ir + h W_hr + b_hr)``, ``z = s(x W_iz + b_iz + h W_hz + b_hz)``,
    ``n = tanh(x W_in + b_in + r * (h W_hn + b_hn))``, ``h' = n + z * (h - n)`` (as ``nn.GRU``).
    Input weights are in gate order ``(r, z, n)`` and recurrent weights in ``(n, r, z)``, so that
    the gradients of both kinds of pre-activation live in one buffer ``(n_h, r, z, n_x)``: the
    recurrent weights' gradient reads its first three quarters, the input weights' its last three.
    Every one of them is the gradient of ``h'`` times a factor computed for all steps at once.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        weight_ih: torch.Tensor,
        weight_hh: torch.Tensor,
        bias_ih: torch.Tensor,
        bias_hh: torch.Tensor,
        packing: _Packing,
        training: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        H = weight_hh.shape[2]
        P, steps = packing.rows, packing.steps
        ctx.set_materialize_grads(False)
        if training:  # [P, 2, 3H], (r, z, n): the input projections of all steps
            inputs = _gather_inputs(x, packing)
            projected = _project(inputs, weight_ih, bias_ih)
            views = packing.per_step
        else:
            project = _StepProjection(x, weight_ih, bias_ih, packing)
            projected, views = project.out, packing.running
        # h W_hh + b_hh, (n, r, z); the backward pass needs all steps' n part
        recurrent = projected.new_empty(P if training else steps[0], 2, 3 * H)
        flat_states, states = _new_states(projected, packing, H)

        previous = packing.previous
        hh_t = views(recurrent)
        rz_t, r_t = views(projected[..., : 2 * H]), views(projected[..., :H])
        z_t, n_t = views(projected[..., H : 2 * H]), views(projected[..., 2 * H :])
        h_t, h_prev = packing.per_step(states), previous(states)
        h_prev_dir = [previous(states[:, d]) for d in range(2)]
        hh_dir = [views(recurrent[:, d]) for d in range(2)]
        w_dir = [weight_hh[d].t() for d in range(2)]
        for t in range(len(steps)):
            if not training:
                project(t)
            hh = hh_t[t]
            if t > 0:
                for d in range(2):
                    torch.addmm(bias_hh[d], h_prev_dir[d][t - 1], w_dir[d], out=hh_dir[d][t])
            else:
                hh.copy_(bias_hh.unsqueeze(0).expand_as(hh))
            rz_t[t].add_(hh[..., H:]).sigmoid_()
            n_t[t].addcmul_(r_t[t], hh[..., :H]).tanh_()
            if t > 0:
                torch.sub(h_prev[t - 1], n_t[t], out=h_t[t])
                torch.addcmul(n_t[t], z_t[t], h_t[t], out=h_t[t])
            else:
                torch.addcmul(n_t[t], z_t[t], n_t[t], value=-1.0, out=h_t[t])

        if training:
            ctx.save_for_backward(weight_ih, weight_hh, inputs, projected, recurrent, states)
            ctx.packing, ctx.x_shape = packing, x.shape
        return _outputs(flat_states, packing, B, T)

    @staticmethod
    def backward(
        ctx: Any, d_out: torch.Tensor | None, d_final: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, ...]:
        weight_ih, weight_hh, inputs, projected, recurrent, states = ctx.saved_tensors
        packing: _Packing = ctx.packing
        H = weight_hh.shape[2]
        steps, n0 = packing.steps, packing.steps[0]
        d_states = _state_grads(d_out, d_final, packing, projected, H)
        r, z, new = projected.split(H, dim=2)
        hh_n = recurrent[..., :H]
        previous_states = packing.previous_rows(states)

        # the factors, in the buffer that becomes the pre-activation gradients (n_h, r, z, n_x)
        d_pre = projected.new_empty(packing.rows, 2, 4 * H)
        a_nh, a_r, a_z, a_nx = d_pre.split(H, dim=2)
        torch.mul(new, new, out=a_nx)
        a_nx.neg_().add_(1.0)
        a_nx.addcmul_(a_nx, z, value=-1.0)  # (1 - z)(1 - n^2)
        torch.mul(a_nx, r, out=a_nh)
        torch.mul(a_nh, hh_n, out=a_r)
        a_r.addcmul_(a_r, r, value=-1.0)  # (1 - z)(1 - n^2) hh_n r (1 - r)
        torch.addcmul(z, z, z, value=-1.0, out=a_z)  # z (1 - z)
        a_z[:n0].mul_(new[:n0]).neg_()
        a_z[n0:].mul_(previous_states - new[n0:])  # (h_prev - n) z (1 - z)

        per_step, previous = packing.per_step, packing.previous
        dh_t, dh_prev, z_t = per_step(d_states), previous(d_states), per_step(z)
        d_pre_t = per_step(d_pre.unflatten(2, (4, H)))
        drec_dir = [per_step(d_pre[:, d, : 3 * H]) for d in range(2)]
        dh_prev_dir = [previous(d_states[:, d]) for d in range(2)]
        for t in range(len(steps) - 1, -1, -1):
            dh = dh_t[t]
            d_pre_t[t].mul_(dh.unsqueeze(2))
            if t > 0:
                dh_prev[t - 1].addcmul_(dh, z_t[t])
                for d in range(2):
                    dh_prev_dir[d][t - 1].addmm_(drec_dir[d][t], weight_hh[d])

        d_input_pre, d_recurrent_pre = d_pre[..., H:], d_pre[..., : 3 * H]
        d_x, d_weight_ih, d_bias_ih = _projection_grads(
            ctx, d_input_pre, inputs, weight_ih, ctx.x_shape, packing
        )
        d_weight_hh = (
            _recurrent_grad(d_recurrent_pre, previous_states, packing) if ctx.needs_input_grad[2] else None
        )
        d_bias_hh = d_recurrent_pre.sum(dim=0) if ctx.needs_input_grad[4] else None
        return d_x, d_weight_ih, d_weight_hh, d_bias_ih, d_bias_hh, None, None


class BiRNNLayer(nn.Module):
    """One bidirectional LSTM or GRU layer: ``(x [B, T, D], lengths [B])`` -> (outputs
    ``[B, T, 2H]``, forward ++ backward at each position, 0 at padding; final states ``[B, 2H]``,
    the forward state at the last word ++ the backward state at the first word)."""

    def __init__(self, kind: str, input_dim: int, hidden_dim: int) -> None:
        super().__init__()
        if kind not in _GATES:
            raise ValueError(f"unknown recurrent cell {kind!r}; expected 'lstm' or 'gru'")
        self.kind = kind
        self.input_dim = input_dim
        self.hidden_dim = hidden_dim
        self.output_dim = 2 * hidden_dim
        gates = _GATES[kind] * hidden_dim
        self.weight_ih = nn.Parameter(torch.empty(2, gates, input_dim))
        self.weight_hh = nn.Parameter(torch.empty(2, gates, hidden_dim))
        self.bias_ih = nn.Parameter(torch.empty(2, gates))
        self.bias_hh = nn.Parameter(torch.empty(2, gates))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_dim)
        with torch.no_grad():
            for parameter in self.parameters():
                parameter.uniform_(-bound, bound)
            if self.kind == "lstm":
                H = self.hidden_dim
                self.bias_ih.zero_()
                self.bias_hh.zero_()
                self.bias_ih[:, 2 * H : 3 * H] = 1.0  # forget gate, order (o, i, f, g)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        packing = _pack(lengths, T, x.device)
        if packing.rows == 0:
            return x.new_zeros(B, T, self.output_dim), x.new_zeros(B, self.output_dim)
        function = _LSTM if self.kind == "lstm" else _GRU
        parameters = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        # (inside the autograd function gradients are always off, so this is decided here)
        training = torch.is_grad_enabled() and any(t.requires_grad for t in (x, *parameters))
        outputs, final = function.apply(x, *parameters, packing, training)
        return outputs, final

    def extra_repr(self) -> str:
        return f"{self.kind}, {self.input_dim}, {self.hidden_dim}"
