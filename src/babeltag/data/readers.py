"""Corpus files -> ``list[Example]``: one reader per on-disk format.

Every reader returns the whole file or raises a :class:`DataError` that names the file, the line and
what was expected; it never returns part of a file. Each example carries

* ``origin = "path:line"``, the line of its first token (not of its comments), and
* ``meta["token_lines"]``, the 1-based line of every token, so that checks done later (tag schemes,
  vocabularies) can point at the exact line of the input.

Readers also keep in ``meta`` what :mod:`babeltag.data.writers` needs to write the sentence back with
predicted labels (see each reader for the keys). ``.gz`` files are read transparently.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from conllu.exceptions import ParseException
from conllu.parser import parse_comment_line, parse_id_value

from babeltag.data.example import Example
from babeltag.data.io import read_lines
from babeltag.errors import ConfigError, DataError

# ---------------------------------------------------------------------------------------------------
# CoNLL-U
# ---------------------------------------------------------------------------------------------------

CONLLU_FIELDS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")

#: Which CoNLL-U column holds the label for each ``label_field`` (``"none"`` reads no labels).
CONLLU_LABEL_COLUMNS = {"upos": 3, "xpos": 4, "feats": 5}


def read_conllu(
    path: str | Path,
    language: str,
    task: str,
    label_field: str = "upos",
    encoding: str = "utf-8",
) -> list[Example]:
    """Read a CoNLL-U file; one example per sentence, one token per syntactic word.

    Multiword-token ranges (``3-4``) and empty nodes (``8.1``) are not words and are skipped, but kept
    verbatim for writing back. ``label_field`` is ``"upos"``, ``"xpos"``, ``"feats"`` (rendered in the
    canonical ``A=B|C=D`` order, ``"_"`` when empty) or ``"none"`` for unlabelled text.

    ``meta`` keys: ``token_lines``; ``comments`` (the comment lines, verbatim); ``metadata`` (comments
    parsed by the ``conllu`` library: ``sent_id``, ``text``, ...); ``conllu_lines`` (every token line
    of the sentence, verbatim, multiword and empty-node lines included); ``word_rows`` (for each word,
    its index in ``conllu_lines``).
    """
    return list(iter_conllu(path, read_lines(path, encoding), language, task, label_field))


def iter_conllu(
    path: str | Path,
    numbered_lines: Iterable[tuple[int, str]],
    language: str,
    task: str,
    label_field: str = "upos",
) -> Iterator[Example]:
    """:func:`read_conllu` a sentence at a time, over the ``numbered_lines`` of ``path`` (as
    :func:`~babeltag.data.io.read_lines` gives them): for streaming a file of any size."""
    if label_field != "none" and label_field not in CONLLU_LABEL_COLUMNS:
        options = ", ".join([*CONLLU_LABEL_COLUMNS, "none"])
        raise ConfigError(f"label_field must be one of {options}, not {label_field!r}")
    label_column = CONLLU_LABEL_COLUMNS.get(label_field)
    return (_conllu_sentence(path, block, language, task, label_column) for block in _blocks(numbered_lines))


def _blocks(lines: Iterable[tuple[int, str]]) -> Iterator[list[tuple[int, str]]]:
    """Group numbered lines into blank-line separated blocks (runs of blank lines count as one)."""
    block: list[tuple[int, str]] = []
    for number, line in lines:
        if line.strip():
            block.append((number, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def _conllu_sentence(
    path: str | Path,
    block: list[tuple[int, str]],
    language: str,
    task: str,
    label_column: int | None,
) -> Example:
    comments: list[str] = []
    rows: list[str] = []
    word_rows: list[int] = []
    forms: list[str] = []
    labels: list[str] = []
    token_lines: list[int] = []

    for number, line in block:
        if line.startswith("#"):
            if rows:
                raise DataError(path, number, "comment line inside a sentence; comments go before its tokens")
            comments.append(line)
            continue
        # The conllu library's own line splitter also splits at two spaces and pads short lines, which
        # would hide exactly the errors people make; so split strictly on tabs and count.
        columns = line.split("\t")
        if len(columns) != len(CONLLU_FIELDS):
            hint = (
                " (columns separated by spaces instead of tabs?)" if len(columns) == 1 and " " in line else ""
            )
            raise DataError(path, number, f"expected 10 tab-separated columns, found {len(columns)}{hint}")
        word_id = columns[0]
        if not (word_id.isascii() and word_id.isdigit()):
            # A multiword range or an empty node: validated by conllu, kept for writing, not a word.
            try:
                if "-" not in word_id and "." not in word_id:
                    raise ParseException("not a range or an empty node")
                parse_id_value(word_id)
            except ParseException:
                raise DataError(
                    path,
                    number,
                    f"expected an ID like 3, a range like 3-4 or an empty node like 8.1, found {word_id!r}",
                ) from None
            rows.append(line)
            continue
        if int(word_id) != len(forms) + 1:
            raise DataError(
                path,
                number,
                f"expected word ID {len(forms) + 1}, found {word_id!r} (is a blank line missing "
                "between two sentences?)",
            )
        if not columns[1]:
            raise DataError(path, number, "empty FORM column")
        word_rows.append(len(rows))
        rows.append(line)
        forms.append(columns[1])
        token_lines.append(number)
        if label_column is not None:
            value = columns[label_column]
            labels.append(canonical_feats(value) if label_column == CONLLU_LABEL_COLUMNS["feats"] else value)

    if not forms:
        raise DataError(path, block[0][0], "sentence without word lines (expected lines starting with ID 1)")
    metadata: dict[str, str | None] = {}
    for comment in comments:
        metadata.update(parse_comment_line(comment))
    return Example(
        tokens=forms,
        language=language,
        task=task,
        labels=labels if label_column is not None else None,
        origin=f"{path}:{token_lines[0]}",
        meta={
            "token_lines": token_lines,
            "comments": comments,
            "metadata": metadata,
            "conllu_lines": rows,
            "word_rows": word_rows,
        },
    )


_FEATS_CACHE: dict[str, str] = {}


def canonical_feats(feats: str) -> str:
    """``"Number=Sing|Case=Nom"`` -> ``"Case=Nom|Number=Sing"``: sorted by feature name, ignoring case,
    as the UD guidelines order them, so that one feature bundle is one label. ``"_"`` when empty."""
    rendered = _FEATS_CACHE.get(feats)
    if rendered is None:
        parts = [part for part in feats.split("|") if part and part != "_"]
        rendered = "|".join(sorted(parts, key=lambda part: part.split("=", 1)[0].lower())) or "_"
        _FEATS_CACHE[feats] = rendered
    return rendered


# ---------------------------------------------------------------------------------------------------
# CoNLL column files (CoNLL-2000/2002/2003, WikiANN, token<TAB>tag)
# ---------------------------------------------------------------------------------------------------


def read_conll(
    path: str | Path,
    language: str,
    task: str,
    token_column: int = 0,
    label_column: int | None = -1,
    separator: str | None = None,
    encoding: str = "utf-8",
    docstart: str | None = "-DOCSTART-",
    token_prefix: str | None = None,
) -> list[Example]:
    """Read a column file: one token per line, blank lines between sentences.

    ``separator=None`` splits at any run of whitespace; ``"\\t"`` or ``" "`` split at exactly that
    character. The first token line fixes the number of columns for the whole file. A line whose token
    is ``docstart`` is a document boundary, not a token, with or without a blank line after it (the
    Dutch CoNLL-2002 files put tokens right after it). ``label_column=None`` reads unlabelled text.
    ``token_prefix`` is removed from tokens that start with it (``"sl:"`` in the original WikiANN
    files of Rahimi et al.).

    ``meta`` keys: ``token_lines``; ``lines`` (each token line as read, i.e. its original columns;
    kept as one string rather than a list so that a big corpus is not millions of small lists for the
    garbage collector to walk); ``separator``; ``document`` (how many document boundaries came before
    the sentence); ``docstart`` (only on the first sentence after a boundary: that line, as read).
    """
    return list(
        iter_conll(
            path,
            read_lines(path, encoding),
            language,
            task,
            token_column,
            label_column,
            separator,
            docstart,
            token_prefix,
        )
    )


def iter_conll(
    path: str | Path,
    numbered_lines: Iterable[tuple[int, str]],
    language: str,
    task: str,
    token_column: int = 0,
    label_column: int | None = -1,
    separator: str | None = None,
    docstart: str | None = "-DOCSTART-",
    token_prefix: str | None = None,
) -> Iterator[Example]:
    """:func:`read_conll` a sentence at a time, over the ``numbered_lines`` of ``path`` (as
    :func:`~babeltag.data.io.read_lines` gives them): for streaming a file of any size. ``path`` is
    for error messages and ``origin``."""
    finished: list[Example] = []  # the sentence just completed, if any
    token_lines: list[int] = []
    lines: list[str] = []
    tokens: list[str] = []
    labels: list[str] = []
    n_columns: int | None = None
    first_line = 0
    document = 0
    docstart_line: str | None = None

    def finish_sentence() -> None:
        nonlocal token_lines, lines, tokens, labels, docstart_line
        if not tokens:
            return
        meta: dict[str, object] = {
            "token_lines": token_lines,
            "lines": lines,
            "separator": separator,
            "document": document,
        }
        if docstart_line is not None:
            meta["docstart"] = docstart_line
            docstart_line = None
        finished.append(
            Example(
                tokens=tokens,
                language=language,
                task=task,
                labels=None if label_column is None else labels,
                origin=f"{path}:{token_lines[0]}",
                meta=meta,
            )
        )
        token_lines, lines, tokens, labels = [], [], [], []

    for number, line in numbered_lines:
        if not line.strip():
            finish_sentence()
            yield from finished
            finished.clear()
            continue
        columns = line.split(separator)
        if columns[0] == docstart or (token_column != 0 and _is_docstart(columns, token_column, docstart)):
            finish_sentence()
            yield from finished
            finished.clear()
            document += 1
            docstart_line = line
            continue
        if n_columns is None:
            n_columns, first_line = len(columns), number
            _check_columns(path, number, n_columns, token_column, label_column)
        elif len(columns) != n_columns:
            hint = "; set `separator` if tokens contain spaces" if separator is None else ""
            raise DataError(
                path,
                number,
                f"expected {n_columns} columns (as on line {first_line}), found {len(columns)}{hint}",
            )
        token = columns[token_column]
        if not token:
            raise DataError(path, number, f"empty token in column {token_column}")
        if label_column is not None:
            label = columns[label_column]
            if not label:
                raise DataError(path, number, f"empty label in column {label_column}")
            labels.append(label)
        tokens.append(token.removeprefix(token_prefix) if token_prefix else token)
        token_lines.append(number)
        lines.append(line)
    finish_sentence()
    yield from finished


def _is_docstart(columns: list[str], token_column: int, docstart: str | None) -> bool:
    return (
        docstart is not None
        and -len(columns) <= token_column < len(columns)
        and columns[token_column] == docstart
    )


def _check_columns(
    path: str | Path, line: int, n_columns: int, token_column: int, label_column: int | None
) -> None:
    for name, column in (("token_column", token_column), ("label_column", label_column)):
        if column is not None and not -n_columns <= column < n_columns:
            raise DataError(path, line, f"{name} {column} is out of range: the line has {n_columns} columns")


# ---------------------------------------------------------------------------------------------------
# Classification (CSV / TSV)
# ---------------------------------------------------------------------------------------------------


def read_classification(
    path: str | Path,
    language: str,
    task: str,
    label_column: int | str = 0,
    text_column: int | str = 1,
    delimiter: str = ",",
    has_header: bool = False,
    encoding: str = "utf-8",
    tokenizer: Callable[[str], list[str]] = str.split,
) -> list[Example]:
    """Read one labelled text per CSV record (RFC 4180 quoting: quoted fields may hold newlines).

    With ``has_header`` the columns may be given by name. Every record must have as many fields as
    the first; the label is stripped of surrounding whitespace and must not be empty, the text may be
    empty. Errors name the physical line where the record starts. A UTF-8 byte-order mark is ignored;
    CRLF line ends inside quoted text become ``"\\n"``.

    ``meta`` keys: ``token_lines`` (the record's first line for every token: a tokenizer cannot say
    where inside a multi-line text a token came from); ``text`` (the text field as read).
    """
    if not has_header and not (isinstance(label_column, int) and isinstance(text_column, int)):
        raise ConfigError("label_column and text_column can be names only when has_header is true")
    # One physical line at a time, line end put back: the reader's line_num is then the physical line
    # number, and an undecodable byte is reported by read_lines with its own line.
    reader = csv.reader(
        (line + "\n" for _, line in read_lines(path, encoding)), delimiter=delimiter, strict=True
    )
    examples: list[Example] = []
    n_fields: int | None = None
    label_index = label_column if isinstance(label_column, int) else -1
    text_index = text_column if isinstance(text_column, int) else -1
    record_end = 0
    while True:
        start = record_end + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DataError(path, start, f"malformed CSV record: {error}") from None
        record_end = reader.line_num
        if not record:  # a blank line between records
            continue
        if n_fields is None:
            n_fields = len(record)
            if has_header:
                label_index = _field_index(path, start, record, label_column, "label_column")
                text_index = _field_index(path, start, record, text_column, "text_column")
                continue
            for name, column in (("label_column", label_index), ("text_column", text_index)):
                if not -n_fields <= column < n_fields:
                    raise DataError(
                        path, start, f"{name} {column} is out of range: the record has {n_fields} fields"
                    )
        elif len(record) != n_fields:
            raise DataError(
                path,
                start,
                f"expected {n_fields} fields (as in the first record), found {len(record)}; "
                f"is a text containing {delimiter!r} not quoted?",
            )
        label = record[label_index].strip()
        if not label:
            raise DataError(path, start, f"empty label in field {label_index}")
        text = record[text_index]
        tokens = tokenizer(text)
        examples.append(
            Example(
                tokens=tokens,
                language=language,
                task=task,
                label=label,
                origin=f"{path}:{start}",
                meta={"token_lines": [start] * len(tokens), "text": text},
            )
        )
    return examples


def _field_index(path: str | Path, line: int, header: list[str], column: int | str, name: str) -> int:
    if isinstance(column, int):
        if -len(header) <= column < len(header):
            return column
        raise DataError(path, line, f"{name} {column} is out of range: the header has {len(header)} fields")
    if column not in header:
        raise DataError(path, line, f"{name} {column!r} is not in the header {header}")
    return header.index(column)


# ---------------------------------------------------------------------------------------------------
# Plain text
# ---------------------------------------------------------------------------------------------------


def read_text(path: str | Path, language: str, task: str, encoding: str = "utf-8") -> list[Example]:
    """One sentence per line, split at whitespace, no labels (the input of ``predict --format text``).

    Blank lines hold no sentence and are skipped; ``origin`` keeps each sentence's line number.
    ``meta`` keys: ``token_lines``; ``text`` (the line as read).
    """
    return list(iter_text(path, read_lines(path, encoding), language, task))


def iter_text(
    path: str | Path, numbered_lines: Iterable[tuple[int, str]], language: str, task: str
) -> Iterator[Example]:
    """:func:`read_text` a line at a time."""
    for number, line in numbered_lines:
        tokens = line.split()
        if tokens:
            yield Example(
                tokens=tokens,
                language=language,
                task=task,
                origin=f"{path}:{number}",
                meta={"token_lines": [number] * len(tokens), "text": line},
            )


#: Format names (as used in dataset configs and on the command line) -> reader.
READERS: dict[str, Callable[..., list[Example]]] = {
    "conllu": read_conllu,
    "conll": read_conll,
    "csv": read_classification,
    "classification": read_classification,
    "text": read_text,
}
