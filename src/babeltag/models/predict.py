"""Running a model over examples: batches sorted by length, outputs restored to input order.

Everything that labels text goes through ``_predict_ids``: evaluation, ``babeltag predict``
(:func:`predict_file`) and the Python API (:mod:`babeltag.api`). With ``with_scores`` the same loop
also returns how sure the model is of each label (:func:`decode_with_scores`).

:func:`predict_file` streams: it reads ``chunk_size`` sentences, labels them, writes them and
forgets them, so its memory does not grow with the input.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

import torch

from babeltag.data import readers, tag_schemes, writers
from babeltag.data.batching import Batch, TensorDataset, Vocabularies, iterate_batches
from babeltag.data.datasets import normaliser_of
from babeltag.data.example import Example
from babeltag.data.io import STDIN, read_lines
from babeltag.data.normalise import Normaliser
from babeltag.errors import BabeltagError
from babeltag.heads.classifier import ClassifierHead
from babeltag.heads.crf import CRFHead, LinearChainCRF
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.archive import LoadedModel, load_model
from babeltag.models.build import training_scheme
from babeltag.models.model import TaskModel
from babeltag.training.devices import resolve_device

T = TypeVar("T")

#: Sentences read, labelled and written at a time by :func:`predict_file`.
CHUNK_SIZE = 5000


# ---------------------------------------------------------------------------------------------------
# Examples -> label ids (and scores)
# ---------------------------------------------------------------------------------------------------


def crf_marginals(crf: LinearChainCRF, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``p(y_t = j | x)`` ``[B, T, K]``, 0 on padding.

    The gradient of log Z with respect to the emission scores is exactly these marginals, and the
    CRF's forward-backward already computes it, so no second recursion is needed here.
    """
    with torch.inference_mode(False), torch.enable_grad():
        leaf = emissions.detach().clone().requires_grad_(True)
        (marginals,) = torch.autograd.grad(crf.log_partition(leaf, mask).sum(), leaf)
    return marginals.masked_fill(~mask.unsqueeze(2), 0.0)


@torch.no_grad()
def decode_with_scores(model: TaskModel, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """The ids :meth:`TaskModel.predict` gives, and how sure the model is of them.

    * softmax tagger: ids ``[B, T]``, and the softmax probability of each chosen label ``[B, T]``;
    * CRF tagger: the Viterbi path ``[B, T]``, and the marginal probability ``p(y_t = chosen | x)``
      of each label on it ``[B, T]`` (forward-backward; see :func:`crf_marginals`);
    * classifier: class ids ``[B]``, and the whole distribution over classes ``[B, K]``.

    The ids are taken from the scores, not from the probabilities, exactly as the heads' ``decode``
    does, so they are the same ids even where two probabilities round to the same float.
    """
    states = model.encode(batch)
    head, mask = model.head, batch.mask
    if isinstance(head, ClassifierHead):
        scores = head.scores(states, mask)
        return scores.argmax(dim=-1), scores.float().softmax(dim=-1)
    if isinstance(head, SoftmaxHead):
        scores = head.scores(states)
        ids = scores.argmax(dim=-1)
        chosen = scores.float().softmax(dim=-1).gather(2, ids.unsqueeze(2)).squeeze(2)
        return ids.masked_fill(~mask, 0), chosen.masked_fill(~mask, 0.0)
    if isinstance(head, CRFHead):
        emissions = head.emissions(states)
        path = head.crf.viterbi(emissions, mask)
        marginals = crf_marginals(head.crf, emissions.float(), mask)
        return path, marginals.gather(2, path.unsqueeze(2)).squeeze(2)
    raise BabeltagError(f"cannot give label probabilities for a {type(head).__name__} head")


TRANSFORMER_EVAL_BATCH = 64


def _predict_ids(
    model: TaskModel,
    dataset: TensorDataset,
    batch_size: int,
    device: torch.device | str,
    with_scores: bool,
) -> tuple[list[list[int]], list[list[float]]]:
    """The one prediction loop: ids per example (one per token, or a single class id) and, with
    ``with_scores``, scores per example (see :func:`decode_with_scores`), in the dataset's order."""
    was_training = model.training
    model.eval()
    if getattr(model, "subword_features", None) is not None:
        # a transformer computes every padded position and its attention grows with the square of
        # the longest sentence in the batch: small batches of length-sorted sentences are ~3x faster
        # (500 German UD sentences, 4 x 256 encoder, 1 thread: 6.6 s in one batch, 2.2 s in 64s)
        batch_size = min(batch_size, TRANSFORMER_EVAL_BATCH)
    ids: list[list[int]] = [[] for _ in range(len(dataset))]
    scores: list[list[float]] = [[] for _ in range(len(dataset))] if with_scores else []
    try:
        for batch in iterate_batches(dataset, batch_size):
            batch = batch.to(device)
            if with_scores:
                predicted, probabilities = decode_with_scores(model, batch)
                probability_rows = probabilities.cpu().tolist()
            else:
                predicted = model.predict(batch)
            tagging = predicted.dim() == 2
            lengths = batch.lengths.tolist()
            rows = predicted.cpu().tolist()
            for row, index in enumerate(batch.indices):
                ids[index] = rows[row][: lengths[row]] if tagging else [rows[row]]
                if with_scores:
                    scores[index] = (
                        probability_rows[row][: lengths[row]] if tagging else probability_rows[row]
                    )
    finally:
        model.train(was_training)
    return ids, scores


def predict_ids(
    model: TaskModel, dataset: TensorDataset, batch_size: int = 512, device: torch.device | str = "cpu"
) -> list[list[int]]:
    """Label ids per example (one per token, or a single class id), in the dataset's order."""
    return _predict_ids(model, dataset, batch_size, device, with_scores=False)[0]


def predict_ids_with_scores(
    model: TaskModel, dataset: TensorDataset, batch_size: int = 512, device: torch.device | str = "cpu"
) -> tuple[list[list[int]], list[list[float]]]:
    """:func:`predict_ids`, and per example the probability of each token's label (taggers) or the
    distribution over classes in label-vocabulary order (classifiers); see :func:`decode_with_scores`."""
    return _predict_ids(model, dataset, batch_size, device, with_scores=True)


def _predict(
    model: TaskModel,
    examples: Sequence[Example],
    vocabularies: Vocabularies,
    normaliser: Normaliser,
    model_scheme: str,
    output_scheme: str,
    batch_size: int,
    with_scores: bool,
) -> tuple[list[list[str]], list[list[float]]]:
    dataset = TensorDataset(examples, vocabularies, normaliser, label_kind=None)
    itos = vocabularies.labels.itos
    device = next(model.parameters()).device
    ids, scores = _predict_ids(model, dataset, batch_size, device, with_scores)
    labels = [[itos[i] for i in row] for row in ids]
    if model_scheme not in ("none", output_scheme) and output_scheme != "none":
        labels = [tag_schemes.convert(tags, model_scheme, output_scheme, repair=True) for tags in labels]
    return labels, scores


def predict_labels(
    model: TaskModel,
    examples: Sequence[Example],
    vocabularies: Vocabularies,
    normaliser: Normaliser,
    model_scheme: str = "none",
    output_scheme: str = "none",
    batch_size: int = 512,
) -> list[list[str]]:
    """Predicted labels as strings, converted from the scheme the model decodes in to the data's.

    A softmax tagger can produce sequences its scheme forbids (I-PER after O); they are read the way
    conlleval reads them before conversion, so the spans scored are the spans the model meant.
    """
    return _predict(
        model, examples, vocabularies, normaliser, model_scheme, output_scheme, batch_size, with_scores=False
    )[0]


def predict_labels_with_scores(
    model: TaskModel,
    examples: Sequence[Example],
    vocabularies: Vocabularies,
    normaliser: Normaliser,
    model_scheme: str = "none",
    output_scheme: str = "none",
    batch_size: int = 512,
) -> tuple[list[list[str]], list[list[float]]]:
    """:func:`predict_labels`, and the scores of :func:`predict_ids_with_scores`.

    A token's probability is that of the label the model chose in the scheme it decodes in (S-PER
    for a model trained in BIOES), also when the label is then written in the data's scheme (B-PER).
    """
    return _predict(
        model, examples, vocabularies, normaliser, model_scheme, output_scheme, batch_size, with_scores=True
    )


# ---------------------------------------------------------------------------------------------------
# Reading input to label, whole or one sentence at a time
# ---------------------------------------------------------------------------------------------------


def read_unlabelled(loaded: LoadedModel, path: Path, file_format: str) -> list[Example]:
    """Read input to be labelled in ``file_format``, with the columns the model was trained on."""
    data = loaded.config.data
    if file_format == "text":
        return readers.read_text(path, data.language, data.task)
    if file_format == "conllu":
        return readers.read_conllu(path, data.language, data.task, label_field="none", encoding=data.encoding)
    return readers.read_conll(
        path,
        data.language,
        data.task,
        token_column=data.token_column,
        label_column=None,
        separator=data.separator,
        encoding=data.encoding,
    )


def iter_unlabelled(loaded: LoadedModel, source: str | Path, file_format: str) -> Iterator[Example]:
    """The sentences :func:`read_unlabelled` reads, one at a time; ``"-"`` reads standard input.

    Only one sentence's lines are held at a time. Examples, and errors, name the real file (or
    ``<stdin>``) and line, as the whole-file readers do.
    """
    data = loaded.config.data
    path: str | Path = STDIN if source == "-" else source
    if file_format == "text":  # plain text to label is UTF-8, whatever the training data's encoding
        return readers.iter_text(path, read_lines(source, "utf-8"), data.language, data.task)
    lines = read_lines(source, data.encoding)
    if file_format == "conllu":
        return readers.iter_conllu(path, lines, data.language, data.task, label_field="none")
    return readers.iter_conll(
        path, lines, data.language, data.task, data.token_column, label_column=None, separator=data.separator
    )


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), pulling only one list at a time."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


# ---------------------------------------------------------------------------------------------------
# A file in, the same file with labels out
# ---------------------------------------------------------------------------------------------------

Writer = Callable[[Sequence[Example], Sequence[Sequence[str]], TextIO], None]


def _writer(loaded: LoadedModel, file_format: str) -> Writer:
    data = loaded.config.data
    if data.kind == "classification":
        return lambda examples, predicted, handle: writers.write_text(
            examples, [classes[0] for classes in predicted], handle
        )
    if file_format == "text":
        return writers.write_text
    if file_format == "conllu":
        return lambda examples, predicted, handle: writers.write_conllu(
            examples, predicted, handle, label_field=data.label_field
        )
    return writers.write_conll


def predict_file(
    model_dir: str | Path,
    input_path: str,
    file_format: str,
    output: str = "-",
    batch_size: int = 512,
    dataset: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    device: str = "cpu",
) -> int:
    """Label ``input_path`` and write it back in the same format; returns the number of sentences.

    ``-`` reads standard input / writes standard output; ``dataset`` picks a multi-dataset model's
    dataset (default: its first target).

    The input is read ``chunk_size`` sentences at a time; each chunk is labelled (in batches sorted
    by length, put back in input order) and written before the next is read, so memory stays the
    same however long the input. An output file is written under a temporary name and renamed when
    everything is written: an error (bad line 2 million) leaves no half file. Standard output gets
    each chunk as it is done. The throughput goes to standard error at the end. ``device``: cpu,
    cuda, cuda:N or auto.
    """
    loaded = load_model(model_dir, dataset)
    loaded.model.to(resolve_device(device))
    config = loaded.config
    normaliser = normaliser_of(config)
    model_scheme, output_scheme = training_scheme(config), config.data.tag_scheme
    write = _writer(loaded, file_format)
    sentences = tokens = 0
    started = time.perf_counter()
    with writers.open_output(sys.stdout if output == "-" else output) as handle:
        for chunk in chunks(iter_unlabelled(loaded, input_path, file_format), chunk_size):
            predicted = predict_labels(
                loaded.model, chunk, loaded.vocabularies, normaliser, model_scheme, output_scheme, batch_size
            )
            write(chunk, predicted, handle)
            sentences += len(chunk)
            tokens += sum(len(example.tokens) for example in chunk)
        handle.flush()
    seconds = time.perf_counter() - started
    print(
        f"labelled {sentences:,} sentences, {tokens:,} tokens in {seconds:.1f} s "
        f"({tokens / max(seconds, 1e-9):,.0f} tokens/s)",
        file=sys.stderr,
    )
    return sentences
