"""The CRF's recursions as compiled loops over one sentence at a time, for tensors on the CPU.

On a CPU a tagging-sized CRF (tens of tags, tens of positions, a few dozen sentences) is a few
hundred thousand multiply-adds: microseconds of arithmetic. Written as torch operations, each
position costs a handful of operator calls of several microseconds each, whatever their size, so
the batched recursions in ``crf.py`` spend almost all their time in dispatch. Compiled with numba,
the same recursions run in plain loops with no per-step overhead, and each sentence stops at its
own length, so padding costs nothing.

The maths is the textbook one, and the code reads like it:

* ``scaled_forward`` / ``scaled_backward``: the forward-backward algorithm in probability space
  with a scale factor per position (Rabiner 1989): alpha_t is divided by its sum c_t at every step,
  log Z is the sum of the logs of the c_t, and beta uses the same c_t, so that alpha_t * beta_t is
  p(y_t) with no further normalisation. Emissions are shifted by their maximum per position before
  ``exp``, and everything is float64. A step whose sum falls below ``SMALLEST_TRUSTED_SUM`` (a
  spread of ~660 nats, or constraints that leave no path) makes the result untrusted, and the
  caller uses the log-space version instead.
* ``viterbi``: best prefix score and back-pointer per tag, then the walk back from the end. Ties go
  to the lowest tag index, as ``torch.max`` does.

Arrays are numpy views of the tensors (no copies); shapes as in ``crf.py``: emissions
``[B, T, K]``, ``lengths [B]`` >= 1, start ``[K]``, transitions ``[K, K]`` (from, to), end ``[K]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Below this, a step's sum has lost bits to float64's subnormal range (below ~2.2e-308) or is 0.
SMALLEST_TRUSTED_SUM = 1e-290


@njit(cache=True, nogil=True)
def scaled_forward(
    emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool]:
    """log Z [B] and what the backward pass needs.

    Returns (log_z [B], alpha [B, T, K] scaled to sum 1 per position, probs [B, T, K] =
    exp(emissions - their maximum), sums [B, T] = c_t, finals [B] = sum_j alpha_{L-1}[j] exp(end[j]),
    trusted). Positions past a sentence's end hold zeros.
    """
    batch, length, k = emissions.shape
    start_w = np.exp(start)
    transitions_w = np.exp(transitions)
    end_w = np.exp(end)
    alpha = np.zeros((batch, length, k))
    probs = np.zeros((batch, length, k))
    sums = np.ones((batch, length))
    finals = np.ones(batch)
    log_z = np.zeros(batch)
    incoming = np.empty(k)
    trusted = True
    for b in range(batch):
        n = lengths[b]
        log_total = 0.0
        for t in range(n):
            top = emissions[b, t, 0]
            for j in range(1, k):
                top = max(top, emissions[b, t, j])
            log_total += top
            for j in range(k):
                probs[b, t, j] = math.exp(emissions[b, t, j] - top)
        for t in range(n):
            if t == 0:
                incoming[:] = start_w
            else:
                incoming[:] = 0.0
                for i in range(k):
                    previous = alpha[b, t - 1, i]
                    for j in range(k):
                        incoming[j] += previous * transitions_w[i, j]
            total = 0.0
            for j in range(k):
                value = incoming[j] * probs[b, t, j]
                alpha[b, t, j] = value
                total += value
            if not total >= SMALLEST_TRUSTED_SUM or not math.isfinite(total):
                trusted = False
                total = 1.0
            sums[b, t] = total
            log_total += math.log(total)
            for j in range(k):
                alpha[b, t, j] /= total
        final = 0.0
        for j in range(k):
            final += alpha[b, n - 1, j] * end_w[j]
        if not final >= SMALLEST_TRUSTED_SUM or not math.isfinite(final):
            trusted = False
            final = 1.0
        finals[b] = final
        log_z[b] = log_total + math.log(final)
    return log_z, alpha, probs, sums, finals, trusted


@njit(cache=True, nogil=True)
def scaled_backward(
    weights: np.ndarray,
    lengths: np.ndarray,
    transitions: np.ndarray,
    end: np.ndarray,
    alpha: np.ndarray,
    probs: np.ndarray,
    sums: np.ndarray,
    finals: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of sum_b weights[b] * log Z_b: (d/d emissions [B, T, K], d/d transitions [K, K]).

    d log Z / d emissions[t, j] = p(y_t = j) = alpha_t[j] beta_t[j], and d log Z / d transitions[i, j]
    = sum_t p(y_{t-1} = i, y_t = j) = sum_t alpha_{t-1}[i] P[i, j] E_t[j] beta_t[j] / c_t, with
    beta_{L-1}[j] = exp(end[j]) / final and beta_{t-1}[i] = sum_j P[i, j] E_t[j] beta_t[j] / c_t.
    The start and end gradients are the marginals at the first and last positions.
    """
    batch, length, k = alpha.shape
    transitions_w = np.exp(transitions)
    end_w = np.exp(end)
    grad_emissions = np.zeros((batch, length, k))
    grad_transitions = np.zeros((k, k))
    beta = np.empty((length, k))
    ahead = np.empty(k)
    for b in range(batch):
        n = lengths[b]
        weight = weights[b]
        for j in range(k):
            beta[n - 1, j] = end_w[j] / finals[b]
        for t in range(n - 1, 0, -1):
            for j in range(k):
                ahead[j] = probs[b, t, j] * beta[t, j] / sums[b, t]
            for i in range(k):
                behind = alpha[b, t - 1, i] * weight
                total = 0.0
                for j in range(k):
                    move = transitions_w[i, j] * ahead[j]
                    total += move
                    grad_transitions[i, j] += behind * move
                beta[t - 1, i] = total
        for t in range(n):
            for j in range(k):
                grad_emissions[b, t, j] = weight * alpha[b, t, j] * beta[t, j]
    return grad_emissions, grad_transitions


@njit(cache=True, nogil=True)
def viterbi(
    emissions: np.ndarray, lengths: np.ndarray, start: np.ndarray, transitions: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Best paths [B, T] (0 past each end) and their scores [B], in the emissions' float type.

    Scores are summed in the same order as ``_viterbi_textbook`` (prefix + move, max, + emission;
    + end at the last position), so both give the same floats.
    """
    batch, length, k = emissions.shape
    paths = np.zeros((batch, length), dtype=np.int64)
    scores = np.empty(batch, dtype=emissions.dtype)
    best = np.empty(k, dtype=emissions.dtype)
    following = np.empty(k, dtype=emissions.dtype)
    pointers = np.zeros((length, k), dtype=np.int64)
    for b in range(batch):
        n = lengths[b]
        for j in range(k):
            best[j] = start[j] + emissions[b, 0, j]
        for t in range(1, n):
            for j in range(k):
                top = best[0] + transitions[0, j]
                pointer = 0
                for i in range(1, k):
                    value = best[i] + transitions[i, j]
                    if value > top:
                        top = value
                        pointer = i
                following[j] = top + emissions[b, t, j]
                pointers[t, j] = pointer
            best[:] = following
        top = best[0] + end[0]
        tag = 0
        for j in range(1, k):
            value = best[j] + end[j]
            if value > top:
                top = value
                tag = j
        scores[b] = top
        paths[b, n - 1] = tag
        for t in range(n - 1, 0, -1):
            tag = pointers[t, tag]
            paths[b, t - 1] = tag
    return paths, scores
