"""Linear-chain CRF head: states ``[B, T, D]`` -> the best label sequence, and a sentence-level loss.

A path ``y`` through a sentence of length L scores

    score(y) = start[y_0] + sum_t emissions[t, y_t] + sum_{t>0} transitions[y_{t-1}, y_t] + end[y_{L-1}]

and the model is ``p(y | x) = exp(score(y)) / Z`` (Lafferty et al. 2001). Training minimises
``log Z - score(gold)``; decoding finds ``argmax_y score(y)`` (Viterbi).

The textbook recursions do a ``logsumexp`` (or a ``max``) over a ``[B, K, K]`` tensor per position
and let autograd record every step. For tagging-sized problems almost all of that time is
per-operation overhead rather than arithmetic. On the CPU the recursions therefore run as compiled
loops (``crf_kernels.py``, through ``_CompiledForwardBackward`` and ``_viterbi_compiled``); on
other devices, where data should not leave the device, batched versions arranged to issue as few
operations as possible do the same (``_ForwardBackward``, ``_viterbi_batched``); each docstring
says why it computes the same thing. The textbook versions stay, as fallbacks for inputs the fast
versions decline and as the plain reading of the maths: ``_log_partition_log_space``,
``_path_score``, ``_viterbi_textbook``.

Shapes: B sentences, T positions, K tags. Masks are ``[B, T]`` bool, True on real tokens and
left-aligned (each row is Trues then Falses), and every sentence has at least one token.
Emissions must be finite everywhere, padding included.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import nn

from babeltag.heads.gated import check_projection

# The score of a move the tag scheme forbids. exp(-10000) is exactly 0 in every float type, so a
# forbidden move carries no probability and never wins Viterbi, while sums of a few of them stay
# finite and their gradients NaN-free (which -inf would not guarantee).
FORBIDDEN = -10000.0


def _forbidden(allowed: torch.Tensor | None, shape: tuple[int, ...], name: str) -> torch.Tensor | None:
    """The complement of ``allowed``, checked; None when everything is allowed."""
    if allowed is None:
        return None
    if tuple(allowed.shape) != shape or allowed.dtype != torch.bool:
        raise ValueError(
            f"{name} must be a bool tensor of shape {list(shape)}, got {allowed.dtype} {list(allowed.shape)}"
        )
    return ~allowed.detach().cpu()


def _constrained(scores: torch.Tensor, forbidden: torch.Tensor | None) -> torch.Tensor:
    # masked_fill, not an added penalty: the parameter gets no gradient where a move is forbidden,
    # so no amount of (inconsistent) training data can learn it back
    return scores if forbidden is None else scores.masked_fill(forbidden, FORBIDDEN)


class LinearChainCRF(nn.Module):
    """Start, transition and end scores over K tags, and the inference a CRF needs.

    ``transitions[i, j]`` scores tag i followed by tag j. Moves that the optional bool tensors
    ``allowed_start [K]``, ``allowed_transitions [K, K]`` and ``allowed_end [K]`` forbid score
    FORBIDDEN, set at use time from constant buffers (saved with the model), whatever the
    parameters there hold.
    """

    def __init__(
        self,
        num_tags: int,
        allowed_start: torch.Tensor | None = None,
        allowed_transitions: torch.Tensor | None = None,
        allowed_end: torch.Tensor | None = None,
    ) -> None:
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"a CRF needs at least one tag, got num_tags={num_tags}")
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.start_forbidden: torch.Tensor | None
        self.transitions_forbidden: torch.Tensor | None
        self.end_forbidden: torch.Tensor | None
        self.register_buffer("start_forbidden", _forbidden(allowed_start, (num_tags,), "allowed_start"))
        self.register_buffer(
            "transitions_forbidden",
            _forbidden(allowed_transitions, (num_tags, num_tags), "allowed_transitions"),
        )
        self.register_buffer("end_forbidden", _forbidden(allowed_end, (num_tags,), "allowed_end"))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for parameter in (self.start_transitions, self.transitions, self.end_transitions):
            nn.init.uniform_(parameter, -0.1, 0.1)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(start [K], transitions [K, K], end [K]) as used: the parameters, FORBIDDEN where forbidden."""
        return (
            _constrained(self.start_transitions, self.start_forbidden),
            _constrained(self.transitions, self.transitions_forbidden),
            _constrained(self.end_transitions, self.end_forbidden),
        )

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z [B]: log of the summed exp-scores of all paths of each sentence's length."""
        return self._log_z_minus_gold(emissions, None, mask)

    def gold_score(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """score(tags) [B]. Tags on padding are ignored (they may hold any value, even -100)."""
        return _path_score(emissions, tags, mask, *self.scores())

    def nll(self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood [B] of the tags, log Z - score(tags), one value per sentence."""
        return self._log_z_minus_gold(emissions, tags, mask)

    def _log_z_minus_gold(
        self, emissions: torch.Tensor, tags: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        start, transitions, end = self.scores()
        forward_backward, _ = _fast_versions(emissions.device)
        value, trusted = forward_backward.apply(emissions, tags, mask, start, transitions, end)
        if trusted:
            return value
        log_z = _log_partition_log_space(emissions, mask, start, transitions, end)
        return log_z if tags is None else log_z - _path_score(emissions, tags, mask, start, transitions, end)

    def viterbi(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best paths [B, T] (long); positions past a sentence's end hold 0."""
        return self.viterbi_with_scores(emissions, mask)[0]

    @torch.no_grad()
    def viterbi_with_scores(
        self, emissions: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Best paths [B, T] (0 past each end) and their scores [B]."""
        _, viterbi = _fast_versions(emissions.device)
        return viterbi(emissions, mask, *self.scores())


@functools.cache
def _kernels() -> Any:
    """The compiled loops, imported on first use: importing numba takes a moment that models
    without a CRF need not pay."""
    from babeltag.heads import crf_kernels

    return crf_kernels


def _fast_versions(device: torch.device) -> tuple[Any, Any]:
    """(forward-backward Function, Viterbi function) for tensors on ``device``: compiled loops on
    the CPU, batched tensor operations elsewhere, where the data should stay on the device."""
    if device.type == "cpu":
        return _CompiledForwardBackward, _viterbi_compiled
    return _ForwardBackward, _viterbi_batched


# --- textbook versions -----------------------------------------------------------------------------


def _path_score(
    emissions: torch.Tensor,
    tags: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """score(tags) [B], straight from the definition; autograd provides its gradient."""
    tags = tags.masked_fill(~mask, 0)
    last = tags.gather(1, mask.sum(dim=1, keepdim=True) - 1).squeeze(1)
    on_path = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)
    moves = transitions[tags[:, :-1], tags[:, 1:]]
    return (
        start[tags[:, 0]]
        + on_path.masked_fill(~mask, 0).sum(dim=1)
        + moves.masked_fill(~mask[:, 1:], 0).sum(dim=1)
        + end[last]
    )


def _log_partition_log_space(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> torch.Tensor:
    """log Z [B] by the forward algorithm in log space; autograd provides its gradient."""
    alpha = start + emissions[:, 0]  # [B, K]
    for t in range(1, emissions.shape[1]):
        step = torch.logsumexp(alpha.unsqueeze(2) + transitions, dim=1) + emissions[:, t]
        alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
    return torch.logsumexp(alpha + end, dim=1)


def _viterbi_textbook(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best paths [B, T] (0 on padding) and their scores [B]: best prefix scores and back-pointers."""
    k = emissions.shape[2]
    best = start + emissions[:, 0]  # [B, K]
    pointers = []
    for t in range(1, emissions.shape[1]):
        step, pointer = (best.unsqueeze(2) + transitions).max(dim=1)
        # on padding, keep the scores and point every tag at itself
        best = torch.where(mask[:, t].unsqueeze(1), step + emissions[:, t], best)
        pointers.append(torch.where(mask[:, t].unsqueeze(1), pointer, torch.arange(k, device=pointer.device)))
    score, tag = (best + end).max(dim=1)
    path = [tag]
    for pointer in reversed(pointers):
        path.append(pointer.gather(1, path[-1].unsqueeze(1)).squeeze(1))
    return torch.stack(path[::-1], dim=1).masked_fill(~mask, 0), score


# --- both directions at once -----------------------------------------------------------------------


def _reversal(lengths: torch.Tensor, length: int) -> torch.Tensor:
    """[T, B]: position L_b - 1 - t (mod T) of sentence b.

    Read at it, each sentence comes out reversed with its padding still behind it, so a recursion
    that runs left to right over all T positions serves sentences of every length without masking:
    a sentence's results are simply read at its own positions. The map is its own inverse, so the
    same index also puts results of the reversed sentences back in place.
    """
    after_position = torch.arange(1, length + 1, device=lengths.device).unsqueeze(1)
    return torch.remainder(lengths - after_position, length)


def _reverse_sentences(x: torch.Tensor, reversal: torch.Tensor, batch_dim: int) -> torch.Tensor:
    """Time-major x ([T, ...], sentences along ``batch_dim``) with every sentence reversed."""
    index = reversal.view(reversal.shape + (1,) * (x.dim() - 2)).movedim(1, batch_dim)
    return x.gather(0, index.expand_as(x))


_LOG2_E = 1 / math.log(2)
_LN_2 = math.log(2)
# The scaled forward-backward divides its vectors by their sums every this many steps ...
_RESCALE_EVERY = 8
# ... and if that many steps shrank a vector that summed to 1 below this, it came too close to
# float64's underflow (~1e-308) to trust what was rounded away; the log-space version is used.
_MIN_RESCALE_SUM = 1e-200


def _outer_sum(a: torch.Tensor, b: torch.Tensor, rows: int = 256) -> torch.Tensor:
    """a.T @ b for a, b [N, K] with N large, in blocks of rows. One product this size is split
    across threads, whose start-up costs more than the product; a block of a few hundred rows
    runs on the calling thread. With a single thread, one product is fastest."""
    if torch.get_num_threads() == 1:
        return a.t() @ b
    total = a[:rows].t() @ b[:rows]
    for first in range(rows, a.shape[0], rows):
        total.addmm_(a[first : first + rows].t(), b[first : first + rows])
    return total


class _ForwardBackward(torch.autograd.Function):
    """log Z - score(tags) [B] (log Z alone when tags is None), with its exact gradient.

    It returns the same numbers as ``_log_partition_log_space`` minus ``_path_score``:

    * Probability space instead of log space. With P = exp(transitions) and E_t = exp(emissions_t),
      Z = exp(start) E_0 P E_1 P ... E_{L-1} exp(end) (E_t diagonal) is a chain of vector-matrix
      products, so a step is a matmul and a multiply instead of a [B, K, K] logsumexp. Each
      position's emissions are shifted by their maximum before exp, and every few steps the
      vector is divided by its sum; the logs of shifts and sums are added back at the end. This
      is the scaled forward algorithm of HMMs (Rabiner 1989), here in float64.
    * The backward recursion is the forward recursion of the reversed sentence with P transposed
      and exp(end) as the start vector. Both directions run together, one small matmul per
      position, which halves the sequential steps.
    * The gradient is "expected minus observed counts" instead of autograd replaying every step:
      d/d emissions[t, j] = p(y_t = j) - [tags_t = j], d/d transitions[i, j] =
      sum_t p(y_{t-1} = i, y_t = j) - #(i -> j in tags), and likewise for start and end.

    The second output, a bool, says whether the result can be trusted: False if anything
    overflowed or came close to underflow (emission spreads of hundreds of nats, constraints that
    allow no path); the caller then uses the log-space version.
    """

    @staticmethod
    def forward(
        ctx: Any,
        emissions: torch.Tensor,
        tags: torch.Tensor | None,
        mask: torch.Tensor,
        start: torch.Tensor,
        transitions: torch.Tensor,
        end: torch.Tensor,
    ) -> tuple[torch.Tensor, bool]:
        work = torch.float64
        batch, length, k = emissions.shape
        lengths = mask.sum(dim=1)
        reversal = _reversal(lengths, length)  # [T, B]

        # Shift every position so that its best tag has probability 1. Both directions side by
        # side: probs[t, b, :K] is sentence b at t, probs[t, b, K:] the reversed sentence at t.
        # (exp and log are taken as exp2 and log2: with MKL, torch's exp and log may hand even
        # small arrays to the thread pool, which costs more than the arithmetic.)
        e = emissions.detach().to(work)
        shift = e.amax(dim=2, keepdim=True)
        forwards = torch.sub(e, shift).mul_(_LOG2_E).exp2_().transpose(0, 1)  # [T, B, K]
        probs = torch.cat((forwards, _reverse_sentences(forwards, reversal, batch_dim=1)), dim=2)

        # All other scores in one [K + 2, K] table: transitions, then start, then end. The two
        # directions' matrices P and P^T go on a block diagonal, so that one small matmul steps
        # both; a batched matmul would be split across threads, which costs more than it saves.
        table = torch.cat((transitions, start.unsqueeze(0), end.unsqueeze(0))).detach().to(work)
        weights = torch.exp2(table * _LOG2_E)
        p = weights[:k]
        both_p = torch.block_diag(p, p.t())  # [2K, 2K]

        # before[t] = after[t-1] @ P, or the start vector at t = 0; after[t] = before[t] * E_t.
        # Forwards, after[t] is alpha_t up to a scale. Every _RESCALE_EVERY steps after[t] is
        # divided by its sum in place, which keeps the numbers far from over- and underflow: in
        # between, the sum grows at most K * max(P) times per step.
        before = torch.empty_like(probs)
        after = torch.empty_like(probs)
        before[0] = weights[k:].view(-1)
        torch.mul(before[0], probs[0], out=after[0])
        probs_t, before_t, after_t = probs.unbind(0), before.unbind(0), after.unbind(0)
        sums = []
        for t in range(1, length):
            if t % _RESCALE_EVERY == 0:
                previous = after_t[t - 1].view(batch, 2, k)
                sums.append(previous.sum(dim=2, keepdim=True))
                previous.div_(sums[-1])
            torch.mm(after_t[t - 1], both_p, out=before_t[t])
            torch.mul(before_t[t], probs_t[t], out=after_t[t])
        rescaled = torch.stack(sums) if sums else probs.new_ones(0, batch, 2, 1)  # [(T-1) // R, B, 2, 1]

        # Put back in place, the reversed direction's before[.] is beta_t up to a scale; alpha_t *
        # beta_t is proportional to p(y_t = .), and its sum norm_t carries the scale. At t = 0
        # that is Z itself, less the sums the reversed direction divided out and the shifts.
        alpha = after[:, :, :k]
        beta = _reverse_sentences(before[:, :, k:], reversal, batch_dim=1)
        joint = alpha * beta
        norm = joint.sum(dim=2, keepdim=True)  # [T, B, 1]
        log2_z_scaled = norm[0, :, 0].log2() + torch.where(
            mask.t()[_RESCALE_EVERY::_RESCALE_EVERY], rescaled[:, :, 1, 0].log2(), 0
        ).sum(dim=0)
        log_z = log2_z_scaled * _LN_2 + torch.where(mask, shift[:, :, 0], 0).sum(dim=1)
        trusted = math.isfinite(log_z.sum().item()) and (
            not sums or rescaled.amin().item() > _MIN_RESCALE_SUM
        )

        value, moves = log_z, None
        if tags is not None:
            tags, moves, gold = _gold_path(e, tags, mask, lengths, table)
            value = log_z - gold

        ctx.save_for_backward(
            tags, moves, mask, lengths, probs[:, :, :k], p, alpha, rescaled[:, :, 0], beta, joint, norm
        )
        ctx.dtypes = (emissions.dtype, start.dtype, transitions.dtype, end.dtype)
        return value.to(emissions.dtype), trusted

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_value: torch.Tensor, _: Any) -> tuple[torch.Tensor | None, ...]:
        tags, moves, mask, lengths, probs, p, alpha, rescaled, beta, joint, norm = ctx.saved_tensors
        length, batch, k = joint.shape
        g = grad_value.to(p.dtype)

        # p(y_t = j) = joint_t[j] / norm_t, and with the same norm_t
        # p(y_{t-1} = i, y_t = j) = alpha_{t-1}[i] P[i, j] E_t[j] beta_t[j] / (norm_t * s_t),
        # where s_t is what alpha_t was divided by after it was computed (1 at most positions).
        scale = torch.where(mask.t().unsqueeze(2), g.view(1, batch, 1) / norm, 0)  # [T, B, 1]
        grad_emissions = joint * scale  # g_b p(y_t = j), 0 on padding
        incoming = probs[1:] * beta[1:] * scale[1:]
        incoming[_RESCALE_EVERY - 2 : length - 2 : _RESCALE_EVERY] /= rescaled
        grad_transitions = p * _outer_sum(alpha[:-1].reshape(-1, k), incoming.reshape(-1, k))

        return _gradients(
            ctx, g, grad_emissions.transpose(0, 1), grad_transitions, tags, moves, mask, lengths
        )


def _gold_path(
    e: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, table: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(tags with 0 on padding, the gold moves [B, T-1] as entries of ``table``, score(tags) [B]).

    ``table`` is [K + 2, K]: transitions, then start, then end, as the fast versions use it.
    """
    k = e.shape[2]
    tags = tags * mask
    moves = tags[:, :-1] * k + tags[:, 1:]
    on_path = e.gather(2, tags.unsqueeze(2)).squeeze(2)  # [B, T]
    on_path[:, 1:] += table.view(-1)[moves]
    last = tags.gather(1, lengths.unsqueeze(1) - 1).squeeze(1)
    gold = torch.where(mask, on_path, 0).sum(dim=1) + table[k, tags[:, 0]] + table[k + 1, last]
    return tags, moves, gold


def _gradients(
    ctx: Any,
    g: torch.Tensor,
    grad_emissions: torch.Tensor,
    grad_transitions: torch.Tensor,
    tags: torch.Tensor | None,
    moves: torch.Tensor | None,
    mask: torch.Tensor,
    lengths: torch.Tensor,
) -> tuple[torch.Tensor | None, ...]:
    """The gradients of ``g . (log Z - score(tags))`` for the inputs of a fast Function's forward.

    ``grad_emissions`` [B, T, K] (any layout) holds g_b p(y_t = j), 0 on padding, and
    ``grad_transitions`` [K, K] the g-weighted expected move counts; both are updated in place
    with minus the observed counts. The start (end) gradient is then the emission gradient summed
    at each sentence's first (last) position.
    """
    batch, _, k = grad_emissions.shape
    if tags is not None and moves is not None:
        g_tokens = g.unsqueeze(1) * mask  # [B, T]
        grad_emissions.scatter_add_(2, tags.unsqueeze(2), -g_tokens.unsqueeze(2))
        grad_transitions.view(-1).index_add_(0, moves.reshape(-1), -g_tokens[:, 1:].reshape(-1))
    grad_start = grad_emissions[:, 0].sum(dim=0)
    last = (lengths - 1).view(batch, 1, 1).expand(batch, 1, k)
    grad_end = grad_emissions.gather(1, last).sum(dim=(0, 1))
    emissions_dtype, start_dtype, transitions_dtype, end_dtype = ctx.dtypes
    return (
        grad_emissions.to(emissions_dtype, memory_format=torch.contiguous_format),
        None,
        None,
        grad_start.to(start_dtype),
        grad_transitions.to(transitions_dtype),
        grad_end.to(end_dtype),
    )


class _CompiledForwardBackward(torch.autograd.Function):
    """log Z - score(tags) [B] (log Z alone when tags is None), with its exact gradient, for
    tensors on the CPU: ``crf_kernels.scaled_forward`` and ``scaled_backward`` over numpy views.

    Same outputs as ``_ForwardBackward``, including the bool that says whether the result can be
    trusted (False sends the caller to the log-space version).
    """

    @staticmethod
    def forward(
        ctx: Any,
        emissions: torch.Tensor,
        tags: torch.Tensor | None,
        mask: torch.Tensor,
        start: torch.Tensor,
        transitions: torch.Tensor,
        end: torch.Tensor,
    ) -> tuple[torch.Tensor, bool]:
        e = emissions.detach().to(torch.float64)
        lengths = mask.sum(dim=1)
        table = torch.cat((transitions, start.unsqueeze(0), end.unsqueeze(0))).detach().to(torch.float64)
        k = table.shape[1]
        log_z, alpha, probs, sums, finals, trusted = _kernels().scaled_forward(
            e.numpy(), lengths.numpy(), table[k].numpy(), table[:k].numpy(), table[k + 1].numpy()
        )
        value, moves = torch.from_numpy(log_z), None
        if tags is not None:
            tags, moves, gold = _gold_path(e, tags, mask, lengths, table)
            value = value - gold
        state = (torch.from_numpy(array) for array in (alpha, probs, sums, finals))
        ctx.save_for_backward(tags, moves, mask, lengths, table, *state)
        ctx.dtypes = (emissions.dtype, start.dtype, transitions.dtype, end.dtype)
        return value.to(emissions.dtype), bool(trusted)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_value: torch.Tensor, _: Any) -> tuple[torch.Tensor | None, ...]:
        tags, moves, mask, lengths, table, *state = ctx.saved_tensors
        alpha, probs, sums, finals = (tensor.numpy() for tensor in state)
        k = table.shape[1]
        g = grad_value.to(torch.float64).contiguous()
        grad_emissions, grad_transitions = _kernels().scaled_backward(
            g.numpy(), lengths.numpy(), table[:k].numpy(), table[k + 1].numpy(), alpha, probs, sums, finals
        )
        return _gradients(
            ctx,
            g,
            torch.from_numpy(grad_emissions),
            torch.from_numpy(grad_transitions),
            tags,
            moves,
            mask,
            lengths,
        )


def _viterbi_batched(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best paths [B, T] (0 on padding) and their scores [B].

    The textbook version keeps the best prefix score per tag and a back-pointer, then walks back
    from each sentence's end: a second sequential pass, and on a CPU ``max`` with indices costs
    several times ``amax``. Here the max-plus recursion runs forwards and, on the reversed
    sentences, backwards at the same time, giving the best prefix and the best suffix score per
    (position, tag). Their sum, counting the emission once, is the score of the best path through
    that tag at that position, so the best path is read off at all positions at once. When paths
    tie for best these argmaxes can mix pieces of different paths, so the result is checked
    exactly against the prefix recursion; ties fall back to ``_viterbi_textbook``.
    """
    batch, length, k = emissions.shape
    dtype = torch.promote_types(emissions.dtype, transitions.dtype)
    lengths = mask.sum(dim=1)
    reversal = _reversal(lengths, length)  # [T, B]
    forwards = emissions.to(dtype).permute(1, 2, 0)  # [T, K, B]
    x = torch.stack((forwards, _reverse_sentences(forwards, reversal, batch_dim=2)), dim=2)  # [T, K, 2, B]

    # best[t, j, d, b]: best score of t+1 tags ending (d=0) or, on the reversed sentence, starting
    # (d=1) with tag j; entering[t] is the same before the emissions at t are added, and at t = 0
    # it holds the start (d=0) and end (d=1) scores. Laid out so that the max over the neighbouring
    # tag i is a reduction over the outermost dimension, the cheapest kind. moves[i, j, d] scores
    # the move between them: transitions[i, j] forwards, transitions[j, i] on reversed sentences.
    moves = torch.stack((transitions, transitions.t()), dim=2).unsqueeze(3).expand(k, k, 2, batch)
    moves = moves.to(dtype, memory_format=torch.contiguous_format)
    entering = torch.empty(length, k, 2, batch, dtype=dtype, device=moves.device)
    best = torch.empty_like(entering)
    entering[0] = torch.stack((start, end), dim=1).unsqueeze(2)
    torch.add(entering[0], x[0], out=best[0])
    entering_t, best_t, x_t = entering.unbind(0), best.unbind(0), x.unbind(0)
    scratch = torch.empty_like(moves)
    for t in range(1, length):
        torch.amax(torch.add(best_t[t - 1].unsqueeze(1), moves, out=scratch), dim=0, out=entering_t[t])
        torch.add(entering_t[t], x_t[t], out=best_t[t])

    # The best prefix ending with j at t, plus the best continuation after j at t (the reversed
    # direction's entering scores, put back in place), is the best path through (t, j).
    prefix = best[:, :, 0]  # [T, K, B]
    through = torch.empty(length, batch, k, dtype=dtype, device=best.device)
    torch.add(
        prefix, _reverse_sentences(entering[:, :, 1], reversal, batch_dim=2), out=through.transpose(1, 2)
    )
    path = through.argmax(dim=2)  # [T, B]; argmax, unlike max, is not split across threads

    # The path is a Viterbi path iff every step attains its max in the prefix recursion; redoing
    # the sum in the loop's order gives bit-identical floats. At the last position the argmax
    # above already was over exactly prefix + end scores, whose max is the path's score.
    on_path = prefix.gather(1, path.unsqueeze(1)).squeeze(1)  # [T, B]
    steps = on_path[:-1] + transitions[path[:-1], path[1:]]
    attained = entering[1:, :, 0].gather(1, path[1:].unsqueeze(1)).squeeze(1)
    padding = ~mask
    if not bool(((steps == attained) | padding.t()[1:]).all()):
        return _viterbi_textbook(emissions, mask, start, transitions, end)
    last = (lengths - 1).unsqueeze(0)
    score = through.gather(2, path.unsqueeze(2)).squeeze(2).gather(0, last).squeeze(0)
    return path.t().masked_fill(padding, 0), score


def _viterbi_compiled(
    emissions: torch.Tensor,
    mask: torch.Tensor,
    start: torch.Tensor,
    transitions: torch.Tensor,
    end: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Best paths [B, T] (0 on padding) and their scores [B], by ``crf_kernels.viterbi`` (CPU)."""
    dtype = torch.promote_types(emissions.dtype, transitions.dtype)
    arrays = (x.detach().to(dtype).contiguous().numpy() for x in (emissions, start, transitions, end))
    e, start_scores, transition_scores, end_scores = arrays
    paths, scores = _kernels().viterbi(
        e, mask.sum(dim=1).numpy(), start_scores, transition_scores, end_scores
    )
    return torch.from_numpy(paths), torch.from_numpy(scores)


# --- the head --------------------------------------------------------------------------------------


class CRFHead(nn.Module):
    """A linear projection to emission scores followed by a LinearChainCRF.

    ``softmax_margin = c > 0`` trains with the softmax-margin loss (Gimpel & Smith 2010), as Yang
    et al. (2016) do: every wrong tag at every real position gets ``c`` added to its emission score
    inside log Z, so log Z sums exp(score(y) + c * hamming(y, gold)) and paths far from the gold
    one are pushed down harder. The gold path has no wrong tags, so its score is unchanged (and may
    be read off the augmented emissions); decoding adds nothing.

    ``projection`` (any module mapping input_dim -> num_tags: an ``nn.Linear`` shared across
    languages, a ``GatedOutput``) and ``crf`` (one per task, shared by its languages) may be passed
    in to be shared; by default the head makes its own. A CRF passed in carries its own constraints.
    """

    def __init__(
        self,
        input_dim: int,
        num_tags: int,
        allowed_start: torch.Tensor | None = None,
        allowed_transitions: torch.Tensor | None = None,
        allowed_end: torch.Tensor | None = None,
        softmax_margin: float = 0.0,
        *,
        projection: nn.Module | None = None,
        crf: LinearChainCRF | None = None,
    ) -> None:
        super().__init__()
        if softmax_margin < 0:
            raise ValueError(f"softmax_margin must be >= 0, got {softmax_margin}")
        self.input_dim = input_dim
        self.num_labels = num_tags
        self.softmax_margin = softmax_margin
        if projection is None:
            projection = nn.Linear(input_dim, num_tags)
        check_projection(projection, input_dim, num_tags, "CRFHead")
        self.projection = projection
        if crf is None:
            crf = LinearChainCRF(num_tags, allowed_start, allowed_transitions, allowed_end)
        elif any(allowed is not None for allowed in (allowed_start, allowed_transitions, allowed_end)):
            raise ValueError(
                "a CRF passed in carries its own constraints: pass allowed_start, allowed_transitions "
                "and allowed_end to its LinearChainCRF, not to CRFHead"
            )
        elif crf.num_tags != num_tags:
            raise ValueError(f"CRFHead has {num_tags} tags but the CRF passed in has {crf.num_tags}")
        self.crf = crf

    def emissions(self, features: torch.Tensor) -> torch.Tensor:
        """Emission scores [B, T, K] of features [B, T, D]."""
        return self.projection(features)

    def loss(self, features: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over sentences of the (cost-augmented) negative log-likelihood."""
        emissions = self.emissions(features)
        if self.softmax_margin > 0:
            wrong = torch.ones_like(emissions).scatter_(2, labels.masked_fill(~mask, 0).unsqueeze(2), 0)
            emissions = emissions + self.softmax_margin * wrong
        return self.crf.nll(emissions, labels, mask).sum() / features.shape[0]

    def decode(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Best label ids [B, T] by Viterbi; 0 on padding."""
        return self.crf.viterbi(self.emissions(features), mask)
