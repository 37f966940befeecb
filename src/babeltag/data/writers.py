"""Examples + predicted labels -> files, in the format they were read from.

Each writer takes the examples, one prediction per example (a list of tags for sequence labelling,
one label string for classification) and either an open text handle or a path. Given a path, the
writer fills a temporary file beside it and renames it at the end, so an error never leaves a
half-written file behind; a path ending in ``.gz`` is compressed. Output is UTF-8.

The writers use the ``meta`` keys the readers in :mod:`babeltag.data.readers` store, and fall back to
a minimal layout for examples that came from elsewhere (plain text, synthetic data).
"""

from __future__ import annotations

import gzip
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO, cast

from babeltag.data.example import Example
from babeltag.data.readers import CONLLU_LABEL_COLUMNS
from babeltag.errors import ConfigError

#: One prediction per example: tags (one per token) or a single class label.
Prediction = Sequence[str] | str


@contextmanager
def open_output(target: str | Path | TextIO) -> Iterator[TextIO]:
    """Yield a text handle for ``target``. For a path, write to a temporary file in the same folder
    (so the rename cannot cross file systems) and move it into place only when the block succeeds."""
    if not isinstance(target, str | Path):
        yield target
        return
    path = Path(target)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        if path.suffix == ".gz":
            with gzip.open(temporary, "xt", encoding="utf-8", newline="") as handle:
                yield cast(TextIO, handle)
        else:
            with open(temporary, "x", encoding="utf-8", newline="") as handle:
                yield handle
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _check_aligned(examples: Sequence[Example], predictions: Sequence[Prediction], per_token: bool) -> None:
    """Predictions come from a model run over exactly these examples; anything else is a bug upstream."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    if per_token:
        for example, predicted in zip(examples, predictions, strict=True):
            if isinstance(predicted, str) or len(predicted) != len(example.tokens):
                raise ValueError(
                    f"{example.origin or 'example'}: {len(example.tokens)} tokens but prediction {predicted!r}"
                )


# ---------------------------------------------------------------------------------------------------
# CoNLL-U
# ---------------------------------------------------------------------------------------------------


def write_conllu(
    examples: Sequence[Example],
    predictions: Sequence[Sequence[str]],
    path_or_handle: str | Path | TextIO,
    label_field: str = "upos",
) -> None:
    """Write sentences in CoNLL-U with the predictions in the ``label_field`` column.

    Sentences read by :func:`~babeltag.data.readers.read_conllu` keep their comments, other columns,
    multiword-token and empty-node lines verbatim, so writing the gold labels back reproduces the
    input. Other examples get ``ID FORM _ ... _`` lines with only the label column filled.
    """
    if label_field not in CONLLU_LABEL_COLUMNS:
        raise ConfigError(
            f"label_field must be one of {', '.join(CONLLU_LABEL_COLUMNS)}, not {label_field!r}"
        )
    column = CONLLU_LABEL_COLUMNS[label_field]
    _check_aligned(examples, predictions, per_token=True)
    with open_output(path_or_handle) as handle:
        for example, predicted in zip(examples, predictions, strict=True):
            handle.write(_conllu_sentence(example, predicted, column))


def _conllu_sentence(example: Example, predicted: Sequence[str], column: int) -> str:
    meta = example.meta
    if "conllu_lines" in meta:
        comments = list(cast(list[str], meta["comments"]))
        lines = list(cast(list[str], meta["conllu_lines"]))
        for word, row in enumerate(cast(list[int], meta["word_rows"])):
            columns = lines[row].split("\t")
            columns[column] = predicted[word]
            lines[row] = "\t".join(columns)
    else:
        comments = [f"# text = {' '.join(example.tokens)}"]
        lines = []
        for word, (token, label) in enumerate(zip(example.tokens, predicted, strict=True), start=1):
            columns = [str(word), token] + ["_"] * 8
            columns[column] = label
            lines.append("\t".join(columns))
    return "\n".join(comments + lines) + "\n\n"


# ---------------------------------------------------------------------------------------------------
# CoNLL columns (the conlleval input convention)
# ---------------------------------------------------------------------------------------------------


def write_conll(
    examples: Sequence[Example],
    predictions: Sequence[Sequence[str]],
    path_or_handle: str | Path | TextIO,
    separator: str | None = None,
) -> None:
    """Write one token per line with the prediction as the last column, blank line after each sentence.

    Sentences read by :func:`~babeltag.data.readers.read_conll` keep every original column and get the
    prediction appended: a file with gold labels becomes ``token ... gold prediction``, which is what
    conlleval reads (whether or not the gold column was read as labels). Other examples are written as
    ``token gold prediction`` when they have gold labels, else ``token prediction``. Document
    boundaries (``-DOCSTART-``) are written back, with ``O`` appended. ``separator`` defaults to the one
    the file was read with, a space where that was "any whitespace".
    """
    _check_aligned(examples, predictions, per_token=True)
    with open_output(path_or_handle) as handle:
        for example, predicted in zip(examples, predictions, strict=True):
            read_with = cast(str | None, example.meta.get("separator"))
            sep = separator or read_with or " "
            docstart = cast(str | None, example.meta.get("docstart"))
            if docstart is not None:
                handle.write(_with_column(docstart, read_with, sep, "O") + "\n\n")
            for row in _conll_rows(example, predicted, read_with, sep):
                handle.write(row + "\n")
            handle.write("\n")


def _conll_rows(example: Example, predicted: Sequence[str], read_with: str | None, sep: str) -> Iterator[str]:
    if "lines" in example.meta:
        for line, label in zip(cast(list[str], example.meta["lines"]), predicted, strict=True):
            yield _with_column(line, read_with, sep, label)
    elif example.labels is not None:
        for token, gold, label in zip(example.tokens, example.labels, predicted, strict=True):
            yield f"{token}{sep}{gold}{sep}{label}"
    else:
        for token, label in zip(example.tokens, predicted, strict=True):
            yield f"{token}{sep}{label}"


def _with_column(line: str, read_with: str | None, sep: str, value: str) -> str:
    """An original line with one more column; trailing blanks are no column where any whitespace
    separated them."""
    return f"{line.rstrip() if read_with is None else line}{sep}{value}"


# ---------------------------------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------------------------------


def write_text(
    examples: Sequence[Example],
    predictions: Sequence[Prediction],
    path_or_handle: str | Path | TextIO,
) -> None:
    """One example per line: ``token/TAG token/TAG ...`` for tag predictions, ``LABEL<TAB>tokens``
    for a class label (the tokens joined by spaces, so a multi-line text stays on one line)."""
    if len(examples) != len(predictions):
        raise ValueError(f"{len(examples)} examples but {len(predictions)} predictions")
    with open_output(path_or_handle) as handle:
        for example, predicted in zip(examples, predictions, strict=True):
            if isinstance(predicted, str):
                handle.write(f"{predicted}\t{' '.join(example.tokens)}\n")
            else:
                _check_aligned([example], [predicted], per_token=True)
                pairs = (f"{token}/{label}" for token, label in zip(example.tokens, predicted, strict=True))
                handle.write(" ".join(pairs) + "\n")


#: Format names -> writer, matching :data:`babeltag.data.readers.READERS`.
WRITERS = {"conllu": write_conllu, "conll": write_conll, "text": write_text}
