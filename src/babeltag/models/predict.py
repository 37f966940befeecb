"""Running a model over examples: batches sorted by length, outputs restored to input order."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch

from babeltag.data import readers, tag_schemes, writers
from babeltag.data.batching import TensorDataset, Vocabularies, iterate_batches
from babeltag.data.datasets import normaliser_of
from babeltag.data.example import Example
from babeltag.data.normalise import Normaliser
from babeltag.models.archive import LoadedModel, load_model
from babeltag.models.build import training_scheme
from babeltag.models.model import TaskModel


def predict_ids(
    model: TaskModel, dataset: TensorDataset, batch_size: int = 512, device: torch.device | str = "cpu"
) -> list[list[int]]:
    """Label ids per example (one per token, or a single class id), in the dataset's order."""
    was_training = model.training
    model.eval()
    outputs: list[list[int]] = [[] for _ in range(len(dataset))]
    try:
        for batch in iterate_batches(dataset, batch_size):
            predicted = model.predict(batch.to(device)).cpu()
            lengths = batch.lengths.tolist()
            rows = predicted.tolist()
            for row, index in enumerate(batch.indices):
                outputs[index] = rows[row][: lengths[row]] if predicted.dim() == 2 else [rows[row]]
    finally:
        model.train(was_training)
    return outputs


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
    dataset = TensorDataset(examples, vocabularies, normaliser, label_kind=None)
    itos = vocabularies.labels.itos
    device = next(model.parameters()).device
    labels = [[itos[i] for i in ids] for ids in predict_ids(model, dataset, batch_size, device)]
    if model_scheme not in ("none", output_scheme) and output_scheme != "none":
        labels = [tag_schemes.convert(tags, model_scheme, output_scheme, repair=True) for tags in labels]
    return labels


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


def predict_file(
    model_dir: str | Path,
    input_path: str,
    file_format: str,
    output: str = "-",
    batch_size: int = 512,
    dataset: str | None = None,
) -> int:
    """Label ``input_path`` and write it back in the same format; returns the number of sentences.

    ``-`` reads standard input / writes standard output; ``dataset`` picks a multi-dataset model's
    dataset (default: its first target).
    """
    loaded = load_model(model_dir, dataset)
    if input_path == "-":
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
            shutil.copyfileobj(sys.stdin, handle)
        path = Path(handle.name)
    else:
        path = Path(input_path)
    try:
        examples = read_unlabelled(loaded, path, file_format)
    finally:
        if input_path == "-":
            path.unlink(missing_ok=True)
    config = loaded.config
    predicted = predict_labels(
        loaded.model,
        examples,
        loaded.vocabularies,
        normaliser_of(config),
        training_scheme(config),
        config.data.tag_scheme,
        batch_size,
    )
    target = sys.stdout if output == "-" else output
    if config.data.kind == "classification":
        writers.write_text(examples, [classes[0] for classes in predicted], target)
    elif file_format == "text":
        writers.write_text(examples, predicted, target)
    elif file_format == "conllu":
        writers.write_conllu(examples, predicted, target, label_field=config.data.label_field)
    else:
        writers.write_conll(examples, predicted, target)
    return len(examples)
