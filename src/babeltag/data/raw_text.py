"""Every corpus of the data directory -> raw text per language, for masked-LM pretraining (XLM-style);
and the parallel sentences of PUD for translation-LM pairs and sentence-retrieval probes.

Raw text is the token column of every labelled corpus, labels dropped: ``ud/``, ``ud-train/``,
``ner/``, ``wikiann/`` and the classification texts under ``cls/``. Two things are kept out:

* ``ud-pud/`` entirely: it is the parallel data (TLM pairs, retrieval probe) and a zero-shot POS test
  set, so its sentences must not also be monolingual pretraining text;
* test splits, unless asked for: zero-shot evaluation runs on them later, and a model pretrained on
  the test sentences would be scored on text it has seen (a transductive leak).

Sentences are lists of tokens as the corpus tokenised them (classification texts: split at
whitespace). A token that contains whitespace (a few UD words such as Swedish "till exempel") is split
there, so that every sentence survives being written one per line, space-separated, and read back.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from babeltag.data.io import open_binary, read_lines
from babeltag.data.readers import iter_conll, iter_conllu, read_classification
from babeltag.data.synthetic import LanguageSpec, parallel
from babeltag.errors import ConfigError, DataError

#: Splits that count as training text; ``test`` joins only with ``include_test``.
TRAINING_SPLITS = ("train", "dev")

RAW_TEXT_KINDS = ("conllu", "conll", "tsv", "classification")


@dataclass(frozen=True)
class RawTextFile:
    """One corpus file and how to read its tokens.

    ``kind``: ``"conllu"`` (FORM of each syntactic word), ``"conll"`` (whitespace-separated columns,
    CoNLL-2002/2003), ``"tsv"`` (``token TAB tag``: WikiANN, XTREME UD) or ``"classification"``
    (``label,text`` CSV). ``token_prefix`` is removed from every token that starts with it (WikiANN's
    ``sl:``/``sk:``).
    """

    path: Path
    language: str
    kind: str
    split: str = "train"
    encoding: str = "utf-8"
    token_column: int = 0
    token_prefix: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in RAW_TEXT_KINDS:
            raise ConfigError(f"kind must be one of {', '.join(RAW_TEXT_KINDS)}, not {self.kind!r}")


# ---------------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------------

#: The German CoNLL-2003 files are latin-1 (README of the data directory); everything else is UTF-8.
_NER_ENCODINGS = {"de": "latin-1"}

_GZ = r"(?:\.gz)?$"
# The split is the word before the extension: en_ewt-ud-train.conllu, train.tsv, train.first10000.tsv.
_UD_NAME = re.compile(r"(?:^|-)(train|dev|test)\.conllu" + _GZ)
_PLAIN_NAME = {
    "tsv": re.compile(r"^(train|dev|test)(?:\.[^.]+)*\.tsv" + _GZ),
    "conll": re.compile(r"^(train|dev|test)\.txt" + _GZ),
    "classification": re.compile(r"^(train|dev|test)\.csv" + _GZ),
}


def discover_raw_text(data_dir: str | Path, include_test: bool = False) -> list[RawTextFile]:
    """Every train and dev file (and test, with ``include_test``) of every language in ``ud/``,
    ``ud-train/``, ``ner/``, ``wikiann/`` and ``cls/`` under ``data_dir``; never ``ud-pud/``.

    Languages are the folder names (``ar_dz`` stays ``ar_dz``). Classification data may sit in
    ``cls/<dataset>/<language>/`` (the real layout) or ``cls/<language>/`` (the synthetic one).
    Files come sorted by language, then folder, then name, so that what is read is reproducible.
    """
    data_dir = Path(data_dir)
    splits = (*TRAINING_SPLITS, "test") if include_test else TRAINING_SPLITS
    files: list[RawTextFile] = []
    for language_dir in _subdirs(data_dir / "ud"):
        files += _matching(language_dir, _UD_NAME, "conllu", splits)
    for language_dir in _subdirs(data_dir / "ud-train"):
        files += _matching(language_dir, _PLAIN_NAME["tsv"], "tsv", splits)
    for language_dir in _subdirs(data_dir / "ner"):
        encoding = _NER_ENCODINGS.get(language_dir.name, "utf-8")
        files += _matching(language_dir, _PLAIN_NAME["conll"], "conll", splits, encoding=encoding)
    for language_dir in _subdirs(data_dir / "wikiann"):
        found = _matching(language_dir, _PLAIN_NAME["tsv"], "tsv", splits)
        files += [_with_wikiann_prefix(file) for file in found]
    for folder in [data_dir / "cls", *_subdirs(data_dir / "cls")]:
        for language_dir in _subdirs(folder):
            files += _matching(language_dir, _PLAIN_NAME["classification"], "classification", splits)
    order = {name: index for index, name in enumerate(("ud", "ud-train", "ner", "wikiann", "cls"))}
    return sorted(
        files, key=lambda file: (file.language, order[file.path.relative_to(data_dir).parts[0]], file.path)
    )


def _subdirs(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []


def _matching(
    language_dir: Path, name: re.Pattern[str], kind: str, splits: Sequence[str], encoding: str = "utf-8"
) -> list[RawTextFile]:
    files = []
    for path in sorted(language_dir.iterdir()):
        match = name.search(path.name)
        if path.is_file() and match and match.group(1) in splits:
            files.append(RawTextFile(path, language_dir.name, kind, match.group(1), encoding))
    return files


def _with_wikiann_prefix(file: RawTextFile) -> RawTextFile:
    """The Rahimi et al. files of some languages (sl, sk) write every token as ``sl:Baby``; look at the
    first token rather than keep a list of languages, so that a re-downloaded file with or without
    prefixes is read right either way."""
    prefix = f"{file.language}:"
    with open_binary(file.path) as handle:
        first = next((raw for raw in handle if raw.strip()), b"")
    return replace(file, token_prefix=prefix) if first.startswith(prefix.encode(file.encoding)) else file


# ---------------------------------------------------------------------------------------------------
# Reading sentences
# ---------------------------------------------------------------------------------------------------


def iter_raw_sentences(file: RawTextFile) -> Iterator[list[str]]:
    """The tokens of each sentence of ``file``, labels dropped; ``-DOCSTART-`` lines and empty
    sentences (e.g. an empty classification text) are skipped. Streams CoNLL-U and column files."""
    lines = read_lines(file.path, file.encoding)
    tokens_of: Iterable[list[str]]
    if file.kind == "conllu":
        tokens_of = (
            example.tokens for example in iter_conllu(file.path, lines, file.language, "raw", "none")
        )
    elif file.kind == "classification":
        # The sentiment files are small (a few thousand texts): the whole-file reader is fine here.
        examples = read_classification(file.path, file.language, "raw", encoding=file.encoding)
        tokens_of = (example.tokens for example in examples)
    else:
        tokens_of = (
            example.tokens
            for example in iter_conll(
                file.path,
                lines,
                file.language,
                "raw",
                token_column=file.token_column,
                label_column=None,
                separator="\t" if file.kind == "tsv" else None,
                token_prefix=file.token_prefix,
            )
        )
    for tokens in tokens_of:
        sentence = whitespace_tokens(tokens)
        if sentence:
            yield sentence


def whitespace_tokens(tokens: Iterable[str]) -> list[str]:
    """Split any token that holds whitespace, so that ``" ".join`` then ``str.split`` gives the same
    list back. Python's ``str.split`` is the definition of whitespace on both sides."""
    return [part for token in tokens for part in token.split()]


def gather_raw_text(
    data_dir: str | Path,
    languages: Sequence[str] | None = None,
    include_test: bool = False,
    max_sentences_per_language: int | None = None,
) -> dict[str, list[list[str]]]:
    """Raw text per language from every file :func:`discover_raw_text` finds (``languages``: only
    these). A sentence that is in several datasets (or twice in one) is kept once per language.

    Sentences are taken from a language's files in turn, one from each, so that a
    ``max_sentences_per_language`` cap samples every dataset of the language instead of filling up
    with the first; the files are then read only as far as needed.
    """
    files = discover_raw_text(data_dir, include_test)
    available = sorted({file.language for file in files})
    wanted = available if languages is None else list(dict.fromkeys(languages))
    missing = [language for language in wanted if language not in available]
    if missing:
        raise ConfigError(
            f"no raw text for {', '.join(missing)} under {data_dir}; languages with text: {', '.join(available)}"
        )
    corpus: dict[str, list[list[str]]] = {}
    for language in wanted:
        sources = [iter_raw_sentences(file) for file in files if file.language == language]
        corpus[language] = _unique(_interleave(sources), max_sentences_per_language)
    return corpus


def _interleave(sources: list[Iterator[list[str]]]) -> Iterator[list[str]]:
    """One item from each source in turn until all are exhausted."""
    active = list(sources)
    while active:
        still_active = []
        for source in active:
            item = next(source, None)
            if item is not None:
                yield item
                still_active.append(source)
        active = still_active


def _unique(sentences: Iterator[list[str]], limit: int | None) -> list[list[str]]:
    seen: set[tuple[str, ...]] = set()
    kept: list[list[str]] = []
    for sentence in sentences:
        if limit is not None and len(kept) >= limit:
            break
        key = tuple(sentence)
        if key not in seen:
            seen.add(key)
            kept.append(sentence)
    return kept


# ---------------------------------------------------------------------------------------------------
# Raw text folders: <language>.txt, one space-tokenised sentence per line
# ---------------------------------------------------------------------------------------------------


def write_raw_text(corpus: dict[str, list[list[str]]], out_dir: str | Path) -> dict[str, Path]:
    """Write ``<language>.txt`` per language into ``out_dir``, one sentence per line, tokens joined by
    a space. Each file is written beside its final name and then renamed over it, so a reader never
    sees half a file. Returns the path of each language's file."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for language, sentences in corpus.items():
        text = "".join(" ".join(whitespace_tokens(sentence)) + "\n" for sentence in sentences if sentence)
        path = out_dir / f"{language}.txt"
        _write_atomically(path, text.encode("utf-8"))
        written[language] = path
    return written


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_RAW_TEXT_NAME = re.compile(r"^([^.]+)\.txt" + _GZ)


def read_raw_text_dir(directory: str | Path) -> dict[str, list[list[str]]]:
    """Read a folder of ``<language>.txt`` (or ``.txt.gz``) files as :func:`write_raw_text` writes
    them, or as a user prepares them: UTF-8, one sentence per line, tokens separated by whitespace.
    Blank lines are skipped; a line that is not UTF-8 is a :class:`DataError` naming file and line."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(
            directory, None, "raw text folder not found (expected a folder of <language>.txt files)"
        )
    corpus: dict[str, list[list[str]]] = {}
    origin: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        match = _RAW_TEXT_NAME.match(path.name)
        if not (match and path.is_file()):
            continue
        language = match.group(1)
        if language in corpus:
            raise DataError(
                path, None, f"a second raw text file for {language!r} (the first is {origin[language]})"
            )
        origin[language] = path
        corpus[language] = [line.split() for _, line in read_lines(path, "utf-8") if line.strip()]
    if not corpus:
        raise DataError(directory, None, "no <language>.txt files in this raw text folder")
    return corpus


# ---------------------------------------------------------------------------------------------------
# Parallel sentences: PUD and the synthetic languages
# ---------------------------------------------------------------------------------------------------

#: language -> sent_id -> tokens; the same sent_ids in every language.
ParallelCorpus = dict[str, dict[str, list[str]]]


def read_pud(data_dir: str | Path, languages: Sequence[str]) -> ParallelCorpus:
    """The PUD sentences (``ud-pud/<language>/*.conllu[.gz]``) of each language, keyed by ``sent_id``:
    the same id is the same sentence in every language. Pair by id, never by position: the Icelandic
    file has the sentences in another order. Every language must have exactly the ids of the first.
    Tokens are the syntactic words (as for ``ud/`` raw text)."""
    data_dir = Path(data_dir)
    corpus: ParallelCorpus = {}
    reference: tuple[str, Path] | None = None
    for language in dict.fromkeys(languages):
        path = _pud_file(data_dir, language)
        sentences: dict[str, list[str]] = {}
        for example in iter_conllu(path, read_lines(path), language, "raw", "none"):
            token_lines = example.meta["token_lines"]
            line = token_lines[0] if isinstance(token_lines, list) else None
            metadata = example.meta["metadata"]
            sent_id = metadata.get("sent_id") if isinstance(metadata, dict) else None
            if not sent_id:
                raise DataError(
                    path, line, "sentence without a '# sent_id = ...' comment; PUD pairs by sent_id"
                )
            if sent_id in sentences:
                raise DataError(path, line, f"sent_id {sent_id!r} appears twice")
            sentences[sent_id] = whitespace_tokens(example.tokens)
        if reference is None:
            reference = (language, path)
        else:
            _check_same_ids(path, sentences, corpus[reference[0]], reference)
        corpus[language] = sentences
    return corpus


def _pud_file(data_dir: Path, language: str) -> Path:
    folder = data_dir / "ud-pud" / language
    found = sorted(path for path in folder.glob("*.conllu*") if re.search(r"\.conllu" + _GZ, path.name))
    if len(found) != 1:
        have = ", ".join(path.name for path in _subdirs(data_dir / "ud-pud")) or "none"
        what = "no" if not found else f"{len(found)}"
        raise DataError(folder, None, f"expected one PUD .conllu file, found {what} (PUD languages: {have})")
    return found[0]


def _check_same_ids(
    path: Path, ids: dict[str, list[str]], reference_ids: dict[str, list[str]], reference: tuple[str, Path]
) -> None:
    extra = sorted(set(ids) - set(reference_ids))
    lacking = sorted(set(reference_ids) - set(ids))
    if extra or lacking:
        raise DataError(
            path,
            None,
            f"expected the sent_ids of {reference[0]} ({reference[1]}); "
            f"{len(lacking)} missing (e.g. {lacking[:3]}), {len(extra)} extra (e.g. {extra[:3]})",
        )


def pud_split(sent_ids: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split sentence ids into a ``tlm`` half (translation-LM training pairs) and a ``probe`` half
    (held out for the retrieval probe and evaluation): sorted, then alternately to each.

    Sorting makes the split independent of file order (which differs between PUD languages) and
    needs no seed. Alternating over the sorted ids puts every PUD document (ids ``n01001011``, ...)
    and both genres (news ``n``, Wikipedia ``w``) into both halves in equal shares, where a cut in
    the middle would train on news and probe on Wikipedia. A sentence is never in both halves, so the
    probe asks for translations the model never saw as a pair.
    """
    ordered = sorted(sent_ids)
    if len(set(ordered)) != len(ordered):
        raise ConfigError("sent_ids to split must be distinct")
    return ordered[0::2], ordered[1::2]


def parallel_pairs(
    corpus: ParallelCorpus, lang_a: str, lang_b: str, ids: Iterable[str]
) -> list[tuple[list[str], list[str]]]:
    """``(tokens in lang_a, tokens in lang_b)`` for each id of ``ids``, in that order."""
    for language in (lang_a, lang_b):
        if language not in corpus:
            raise ConfigError(f"no parallel sentences for {language!r}; loaded: {', '.join(corpus)}")
    a, b = corpus[lang_a], corpus[lang_b]
    pairs = []
    for sent_id in ids:
        if sent_id not in a or sent_id not in b:
            raise ConfigError(f"sent_id {sent_id!r} is not among the {lang_a}-{lang_b} parallel sentences")
        pairs.append((a[sent_id], b[sent_id]))
    return pairs


def synthetic_parallel(specs: Sequence[LanguageSpec], n_sentences: int, seed: int) -> ParallelCorpus:
    """The synthetic languages' renderings of the same sentences (:func:`babeltag.data.synthetic.parallel`)
    in the shape :func:`read_pud` returns, so :func:`pud_split` and :func:`parallel_pairs` work on them
    unchanged (e.g. for tests and toy TLM runs)."""
    rendered = parallel(specs, n_sentences, seed)
    return {
        language: {str(example.meta["sent_id"]): list(example.tokens) for example in examples}
        for language, examples in rendered.items()
    }


def synthetic_parallel_pairs(
    spec_a: LanguageSpec, spec_b: LanguageSpec, n_sentences: int, seed: int
) -> list[tuple[list[str], list[str]]]:
    """``n_sentences`` synthetic translation pairs ``(tokens in spec_a, tokens in spec_b)``."""
    corpus = synthetic_parallel([spec_a, spec_b], n_sentences, seed)
    return parallel_pairs(corpus, spec_a.code, spec_b.code, corpus[spec_a.code])
