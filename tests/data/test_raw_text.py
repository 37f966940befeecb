"""Raw text for multilingual pretraining and PUD parallel sentences, on tiny hand-written .gz trees."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from babeltag.data.raw_text import (
    RawTextFile,
    discover_raw_text,
    gather_raw_text,
    iter_raw_sentences,
    parallel_pairs,
    pud_split,
    read_pud,
    read_raw_text_dir,
    synthetic_parallel,
    synthetic_parallel_pairs,
    write_raw_text,
)
from babeltag.data.readers import read_conllu
from babeltag.data.synthetic import LanguageSpec
from babeltag.errors import ConfigError, DataError


def write_gz(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as handle:
        handle.write(text.encode(encoding))
    return path


def conllu(sentences: list[tuple[str, list[str]]]) -> str:
    blocks = []
    for sent_id, words in sentences:
        lines = [f"# sent_id = {sent_id}", f"# text = {' '.join(words)}"]
        lines += [f"{i}\t{word}\t_\tX\t_\t_\t0\tdep\t_\t_" for i, word in enumerate(words, start=1)]
        blocks.append("\n".join(lines) + "\n\n")
    return "".join(blocks)


# A multiword range (skipped: its words are read), an empty node (skipped) and a word with a space.
UD_EN_TRAIN = (
    "# sent_id = a1\n"
    "1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tdo\tdo\tAUX\t_\t_\t3\taux\t_\t_\n"
    "2\tn't\tnot\tPART\t_\t_\t3\tadvmod\t_\t_\n"
    "3\tgo\tgo\tVERB\t_\t_\t0\troot\t_\t_\n"
    "3.1\tgo\tgo\tVERB\t_\t_\t_\t_\t0:root\t_\n"
    "\n" + conllu([("a2", ["New York", "is", "big"]), ("a3", ["Hello", "world"])])
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    write_gz(root / "ud/en/en_ewt-ud-train.conllu.gz", UD_EN_TRAIN)
    write_gz(root / "ud/en/en_ewt-ud-dev.conllu.gz", conllu([("d1", ["Dev", "sentence"])]))
    write_gz(root / "ud/en/en_ewt-ud-test.conllu.gz", conllu([("t1", ["Test", "sentence"])]))
    (root / "ud/en/LICENSE.txt").write_text("not data\n")
    write_gz(root / "ud-train/nl/train.tsv.gz", "Dat\tPRON\nis\tAUX\n\nNog\tADV\néén\tNUM\n")
    # CoNLL-2003 German: latin-1, -DOCSTART- line, five columns.
    write_gz(
        root / "ner/de/dev.txt.gz",
        "-DOCSTART- -X- -X- -X- O\n\nGroßer Große NN I-NC O\nTag Tag NN I-NC O\n\n",
        encoding="latin-1",
    )
    # CoNLL-2002 Dutch: tokens right after -DOCSTART- without a blank line; the sentence is also in UD.
    write_gz(root / "ner/nl/train.txt.gz", "-DOCSTART- -DOCSTART- O\nDat Pron O\nis V O\n\n")
    write_gz(root / "ner/nl/test.txt.gz", "Geheim N O\n\n")
    write_gz(root / "wikiann/sl/train.tsv.gz", "sl:Baby\tB-ORG\nsl:One\tI-ORG\n\nsl:Ljubljana\tB-LOC\n")
    write_gz(root / "wikiann/en/train.first10.tsv.gz", "Hello\tO\nworld\tO\n\nen:wiki\tO\n")
    write_gz(root / "wikiann/en/test.tsv.gz", "Secret\tO\n")
    # Sentiment CSV: CRLF, a quoted text with a comma and a newline, an empty text, a BOM in dev.
    write_gz(
        root / "cls/sentiment-typology/ar_dz/train.csv.gz",
        '1,"good, very good"\r\n0,"bad\r\nday"\r\n1,\r\n',
    )
    write_gz(root / "cls/sentiment-typology/ar_dz/dev.csv.gz", "\ufeff0,meh\r\n")
    (root / "cls/sentiment-typology/README.upstream.md").write_text("# readme\n")
    write_gz(root / "ud-pud/en/en_pud-ud-test.conllu.gz", conllu([("n1", ["One"]), ("n2", ["Two"])]))
    return root


def relative(files: list[RawTextFile], root: Path) -> list[str]:
    return [file.path.relative_to(root).as_posix() for file in files]


def test_discover_finds_train_and_dev_of_every_source_but_not_pud_or_test(data_dir: Path) -> None:
    files = discover_raw_text(data_dir)
    assert relative(files, data_dir) == [
        "cls/sentiment-typology/ar_dz/dev.csv.gz",
        "cls/sentiment-typology/ar_dz/train.csv.gz",
        "ner/de/dev.txt.gz",
        "ud/en/en_ewt-ud-dev.conllu.gz",
        "ud/en/en_ewt-ud-train.conllu.gz",
        "wikiann/en/train.first10.tsv.gz",
        "ud-train/nl/train.tsv.gz",
        "ner/nl/train.txt.gz",
        "wikiann/sl/train.tsv.gz",
    ]
    by_path = {file.path.relative_to(data_dir).as_posix(): file for file in files}
    assert by_path["ner/de/dev.txt.gz"].encoding == "latin-1"
    assert by_path["ner/nl/train.txt.gz"].encoding == "utf-8"
    assert by_path["wikiann/sl/train.tsv.gz"].token_prefix == "sl:"
    assert by_path["wikiann/en/train.first10.tsv.gz"].token_prefix is None
    assert by_path["wikiann/en/train.first10.tsv.gz"].split == "train"
    assert [file.kind for file in files][:4] == ["classification", "classification", "conll", "conllu"]


def test_discover_with_test_adds_test_files_only(data_dir: Path) -> None:
    added = set(relative(discover_raw_text(data_dir, include_test=True), data_dir)) - set(
        relative(discover_raw_text(data_dir), data_dir)
    )
    assert added == {"ud/en/en_ewt-ud-test.conllu.gz", "ner/nl/test.txt.gz", "wikiann/en/test.tsv.gz"}


def test_sentences_of_each_format(data_dir: Path) -> None:
    def read(relative_path: str) -> list[list[str]]:
        (file,) = [f for f in discover_raw_text(data_dir) if f.path == data_dir / relative_path]
        return list(iter_raw_sentences(file))

    assert read("ud/en/en_ewt-ud-train.conllu.gz") == [
        ["do", "n't", "go"],
        ["New", "York", "is", "big"],  # a word with a space becomes two tokens
        ["Hello", "world"],
    ]
    assert read("ud-train/nl/train.tsv.gz") == [["Dat", "is"], ["Nog", "één"]]
    assert read("ner/de/dev.txt.gz") == [["Großer", "Tag"]]
    assert read("ner/nl/train.txt.gz") == [["Dat", "is"]]
    assert read("wikiann/sl/train.tsv.gz") == [["Baby", "One"], ["Ljubljana"]]
    assert read("wikiann/en/train.first10.tsv.gz") == [["Hello", "world"], ["en:wiki"]]
    # The empty text is skipped, the newline inside quotes is whitespace.
    assert read("cls/sentiment-typology/ar_dz/train.csv.gz") == [["good,", "very", "good"], ["bad", "day"]]
    assert read("cls/sentiment-typology/ar_dz/dev.csv.gz") == [["meh"]]


def test_raw_text_file_rejects_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="kind must be one of"):
        RawTextFile(tmp_path / "x", "en", "json")


def test_gather_deduplicates_within_a_language_and_interleaves_files(data_dir: Path) -> None:
    corpus = gather_raw_text(data_dir)
    assert sorted(corpus) == ["ar_dz", "de", "en", "nl", "sl"]
    # "Dat is" is in ud-train/nl and ner/nl; "Hello world" in ud/en and wikiann/en.
    assert corpus["nl"] == [["Dat", "is"], ["Nog", "één"]]
    assert corpus["en"].count(["Hello", "world"]) == 1
    # One sentence from each file in turn: ud dev, ud train, wikiann train, then the rest.
    assert corpus["en"][:3] == [["Dev", "sentence"], ["do", "n't", "go"], ["Hello", "world"]]
    assert len(corpus["en"]) == 5
    assert ["Test", "sentence"] not in corpus["en"]
    assert ["Test", "sentence"] in gather_raw_text(data_dir, include_test=True)["en"]


def test_gather_selects_languages_and_caps_sentences(data_dir: Path) -> None:
    capped = gather_raw_text(data_dir, languages=["en", "sl"], max_sentences_per_language=2)
    assert capped == {
        "en": [["Dev", "sentence"], ["do", "n't", "go"]],
        "sl": [["Baby", "One"], ["Ljubljana"]],
    }
    with pytest.raises(ConfigError, match="no raw text for xx"):
        gather_raw_text(data_dir, languages=["en", "xx"])


def test_write_and_read_back_raw_text(tmp_path: Path, data_dir: Path) -> None:
    corpus = gather_raw_text(data_dir)
    written = write_raw_text(corpus, tmp_path / "raw")
    assert written == {language: tmp_path / "raw" / f"{language}.txt" for language in corpus}
    assert sorted(path.name for path in (tmp_path / "raw").iterdir()) == sorted(
        f"{language}.txt" for language in corpus
    )  # no temporary files left behind
    assert (tmp_path / "raw" / "nl.txt").read_text(encoding="utf-8") == "Dat is\nNog één\n"
    assert read_raw_text_dir(tmp_path / "raw") == corpus


def test_read_raw_text_dir_skips_blank_lines_and_reads_gz(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "fr.txt").write_text("Le  chat\n\n   \ndort .\n", encoding="utf-8")
    write_gz(folder / "de.txt.gz", "Der Hund\n")
    (folder / "notes.md").write_text("ignored\n")
    assert read_raw_text_dir(folder) == {"de": [["Der", "Hund"]], "fr": [["Le", "chat"], ["dort", "."]]}


def test_read_raw_text_dir_names_file_and_line_of_bad_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "de.txt").write_bytes("gut\nGro\xdfer Tag\n".encode("latin-1"))
    with pytest.raises(DataError) as error:
        read_raw_text_dir(folder)
    assert error.value.path == str(folder / "de.txt") and error.value.line == 2


def test_read_raw_text_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_raw_text_dir(tmp_path / "absent")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "en.txt").write_text("a\n")
    write_gz(tmp_path / "two" / "en.txt.gz", "b\n")
    with pytest.raises(DataError, match="second raw text file for 'en'"):
        read_raw_text_dir(tmp_path / "two")


@pytest.fixture
def pud_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    english = [("n01001011", ["The", "cat"]), ("n01001013", ["A", "dog"]), ("w01001001", ["New", "York"])]
    icelandic = [("w01001001", ["Nýja", "Jórvík"]), ("n01001011", ["Kötturinn"]), ("n01001013", ["Hundur"])]
    write_gz(root / "ud-pud/en/en_pud-ud-test.conllu.gz", conllu(english))
    write_gz(root / "ud-pud/is/is_pud-ud-test.conllu.gz", conllu(icelandic))
    return root


def test_read_pud_pairs_by_sent_id_not_position(pud_dir: Path) -> None:
    pud = read_pud(pud_dir, ["en", "is"])
    assert list(pud["is"]) == ["w01001001", "n01001011", "n01001013"]  # file order kept
    pairs = parallel_pairs(pud, "en", "is", ["n01001011", "w01001001"])
    assert pairs == [(["The", "cat"], ["Kötturinn"]), (["New", "York"], ["Nýja", "Jórvík"])]


def test_read_pud_errors(pud_dir: Path) -> None:
    with pytest.raises(DataError, match="expected one PUD .conllu file, found no"):
        read_pud(pud_dir, ["en", "fr"])
    write_gz(pud_dir / "ud-pud/de/de_pud-ud-test.conllu.gz", conllu([("n01001011", ["Die", "Katze"])]))
    with pytest.raises(DataError, match="2 missing"):
        read_pud(pud_dir, ["en", "de"])
    write_gz(pud_dir / "ud-pud/de/de_pud-ud-test.conllu.gz", "1\tDie\t_\tX\t_\t_\t0\tdep\t_\t_\n")
    with pytest.raises(DataError, match="without a '# sent_id") as error:
        read_pud(pud_dir, ["de"])
    assert error.value.line == 1
    with pytest.raises(ConfigError, match="not among"):
        parallel_pairs(read_pud(pud_dir, ["en", "is"]), "en", "is", ["n09"])
    with pytest.raises(ConfigError, match="no parallel sentences for 'fr'"):
        parallel_pairs(read_pud(pud_dir, ["en"]), "en", "fr", [])


def test_pud_split_alternates_over_sorted_ids_whatever_the_order() -> None:
    ids = [f"{genre}0{doc}00{sent}" for genre in "nw" for doc in range(1, 6) for sent in range(10, 30)]
    tlm, probe = pud_split(reversed(ids))
    assert (tlm, probe) == pud_split(ids)
    assert len(tlm) == len(probe) == 100 and not set(tlm) & set(probe)
    assert sorted(tlm + probe) == sorted(ids)
    # Both genres and every document are in both halves, equally.
    for half in (tlm, probe):
        assert sum(sent_id.startswith("n") for sent_id in half) == 50
        assert {sent_id[:3] for sent_id in half} == {sent_id[:3] for sent_id in ids}
    with pytest.raises(ConfigError, match="distinct"):
        pud_split(["a", "a"])


def test_synthetic_parallel_has_the_shape_of_pud() -> None:
    a, b = LanguageSpec("syn_a", seed=1), LanguageSpec("syn_b", seed=2, verb_final=True)
    corpus = synthetic_parallel([a, b], n_sentences=6, seed=3)
    assert set(corpus) == {"syn_a", "syn_b"} and list(corpus["syn_a"]) == list(corpus["syn_b"])
    tlm, probe = pud_split(corpus["syn_a"])
    assert len(parallel_pairs(corpus, "syn_a", "syn_b", tlm)) == 3
    pairs = synthetic_parallel_pairs(a, b, n_sentences=6, seed=3)
    assert pairs == synthetic_parallel_pairs(a, b, n_sentences=6, seed=3)
    assert pairs[0] == (corpus["syn_a"]["parallel-3-0"], corpus["syn_b"]["parallel-3-0"])
    assert pairs[0][0] != pairs[0][1]


def test_synthetic_data_directory_layout(synthetic_data_dir: Path) -> None:
    files = discover_raw_text(synthetic_data_dir)
    assert {file.kind for file in files} == {"conllu", "conll", "classification"}
    assert all(file.split in ("train", "dev") for file in files)
    corpus = gather_raw_text(synthetic_data_dir, languages=["syn_src"])
    assert corpus["syn_src"] and all(sentence for sentence in corpus["syn_src"])


def test_real_data_directory(real_file) -> None:
    """The shared data directory: every source language found, PUD kept out, PUD en-is paired by id."""
    data_dir = real_file("ud-pud/is/is_pud-ud-test.conllu.gz").parents[2]
    files = discover_raw_text(data_dir)
    languages = {file.language for file in files}
    assert {"en", "nl", "de", "es", "bg", "ar_dz", "sl"} <= languages
    assert not any("ud-pud" in file.path.parts for file in files)
    assert all(file.split != "test" for file in files)
    pud = read_pud(data_dir, ["en", "is"])
    assert len(pud["en"]) == 1000 and set(pud["en"]) == set(pud["is"])
    assert list(pud["en"]) != list(pud["is"])  # another order: pairing by position would be wrong
    # The Icelandic file carries the English text; by sent_id it matches the English sentence.
    icelandic = read_conllu(data_dir / "ud-pud/is/is_pud-ud-test.conllu.gz", "is", "raw", "none")
    same = 0
    for example in icelandic:
        metadata = example.meta["metadata"]
        assert isinstance(metadata, dict)
        english = "".join(pud["en"][metadata["sent_id"]])
        same += english == str(metadata.get("text_en", "")).replace(" ", "")
    assert same >= 950
