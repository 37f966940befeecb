"""Sentence retrieval as a probe of cross-lingual representations: does a sentence's vector find the
vector of its translation among all the other language's sentences?

Pires et al. (2019, sec. 5) found that multilingual BERT's sentence vectors of two languages differ by
a roughly constant offset, and that moving the source vectors by the mean difference between the
languages turns near-chance retrieval into good retrieval. :func:`translation_retrieval_accuracy`
removes that offset by subtracting each language's own mean vector. For paired rows the mean
difference is exactly the difference of the means, so this is their translation; under Euclidean
distance the two are identical, and with cosine similarity (used here, so that vector length does not
decide) both sides are measured around their own centre.
"""

from __future__ import annotations

import numpy as np

from babeltag.evaluation.metrics import EvaluationError


def translation_retrieval_accuracy(source: np.ndarray, target: np.ndarray, center: bool = True) -> float:
    """The fraction of rows ``i`` of ``source`` ([N, D]) whose nearest row of ``target`` ([N, D]) by
    cosine similarity is row ``i``, its translation. With ``center`` each matrix's mean row is
    subtracted first. Ties go to the lowest row index; a zero vector is similar to nothing (cosine 0).
    """
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.ndim != 2 or source.shape != target.shape:
        raise EvaluationError(
            f"source and target must be [N, D] matrices of the same shape (row i of each is one "
            f"translation pair), got {source.shape} and {target.shape}"
        )
    if source.shape[0] == 0:
        raise EvaluationError("no sentence pairs to retrieve")
    if not (np.isfinite(source).all() and np.isfinite(target).all()):
        raise EvaluationError("sentence vectors contain NaN or infinite values")
    if center:
        source = source - source.mean(axis=0, keepdims=True)
        target = target - target.mean(axis=0, keepdims=True)
    similarity = _unit_rows(source) @ _unit_rows(target).T
    nearest = similarity.argmax(axis=1)
    return float(np.mean(nearest == np.arange(len(source))))


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # A zero row stays zero rather than becoming NaN: similar to nothing, so never a confident match.
    return matrix / np.where(norms > 0, norms, 1.0)
