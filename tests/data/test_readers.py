from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from babeltag.data.readers import (
    READERS,
    canonical_feats,
    read_classification,
    read_conll,
    read_conllu,
    read_text,
)
from babeltag.errors import ConfigError, DataError


def write(directory: Path, name: str, text: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a small input file; gzip it when the name ends in .gz."""
    data = text if isinstance(text, bytes) else text.encode(encoding)
    path = directory / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def conllu_line(*columns: str) -> str:
    return "\t".join(columns) + "\n"


def word(i: int, form: str, upos: str, feats: str = "_", xpos: str = "_") -> str:
    return conllu_line(str(i), form, form.lower(), upos, xpos, feats, "0", "root", "_", "_")


CONLLU = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = Wir gehen zum Haus.\n"
    + word(1, "Wir", "PRON", "Person=1|Number=Plur", "PPER")
    + word(2, "gehen", "VERB", "VerbForm=Fin|Mood=Ind", "VVFIN")
    + conllu_line("3-4", "zum", *["_"] * 8)
    + word(3, "zu", "ADP", xpos="APPR")
    + word(4, "dem", "DET", "Case=Dat", "ART")
    + word(5, "Haus", "NOUN", "Number=Sing|Case=Dat", "NN")
    + conllu_line("5.1", "gehen", "gehen", "VERB", "_", "_", "_", "_", "2:conj", "_")
    + word(6, ".", "PUNCT", xpos="$.")
    + "\n"
    + "# sent_id = s2\n"
    + word(1, "Ja", "INTJ")
    + "\n"
)


# --- CoNLL-U ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a.conllu", "a.conllu.gz"])
def test_conllu_words_and_upos(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, CONLLU)
    first, second = read_conllu(path, "de", "upos")
    assert first.tokens == ["Wir", "gehen", "zu", "dem", "Haus", "."]  # 3-4 and 5.1 skipped
    assert first.labels == ["PRON", "VERB", "ADP", "DET", "NOUN", "PUNCT"]
    assert (first.language, first.task) == ("de", "upos")
    assert first.origin == f"{path}:4"  # the first token line, after the comments
    assert first.meta["token_lines"] == [4, 5, 7, 8, 9, 11]
    assert first.meta["metadata"] == {"newdoc id": "d1", "sent_id": "s1", "text": "Wir gehen zum Haus."}
    assert len(first.meta["conllu_lines"]) == 8  # words, the range and the empty node, verbatim
    assert second.tokens == ["Ja"] and second.meta["token_lines"] == [14]


def test_conllu_label_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "a.conllu", CONLLU)
    assert read_conllu(path, "de", "xpos", label_field="xpos")[0].labels == [
        "PPER", "VVFIN", "APPR", "ART", "NN", "$.",
    ]  # fmt: skip
    feats = read_conllu(path, "de", "feats", label_field="feats")[0].labels
    assert feats == [
        "Number=Plur|Person=1",
        "Mood=Ind|VerbForm=Fin",
        "_",
        "Case=Dat",
        "Case=Dat|Number=Sing",
        "_",
    ]
    unlabelled = read_conllu(path, "de", "upos", label_field="none")[0]
    assert unlabelled.labels is None and unlabelled.tokens[0] == "Wir"
    with pytest.raises(ConfigError, match="label_field"):
        read_conllu(path, "de", "upos", label_field="lemma")


def test_canonical_feats_sorts_by_name_ignoring_case() -> None:
    assert canonical_feats("Number=Sing|Case=Nom|abbr=Yes") == "abbr=Yes|Case=Nom|Number=Sing"
    assert canonical_feats("_") == "_"


def test_conllu_file_without_final_blank_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.conllu", word(1, "Hi", "INTJ") + "\n\n\n" + word(1, "Yo", "INTJ"))
    assert [e.tokens for e in read_conllu(path, "en", "upos")] == [["Hi"], ["Yo"]]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("1\tHaus\thaus\tNOUN\t_\t_\t0\troot\t_\n", "expected 10 tab-separated columns, found 9"),
        ("1 Haus haus NOUN _ _ 0 root _ _\n", "expected 10 tab-separated columns, found 1 (columns separated by"),
        (conllu_line("x", "Haus", *["_"] * 8), "a range like 3-4 or an empty node like 8.1, found 'x'"),
        (conllu_line("2-", "Haus", *["_"] * 8), "found '2-'"),
        (conllu_line("3", "Haus", *["_"] * 8), "expected word ID 2, found '3'"),
        (conllu_line("2", "", *["_"] * 8), "empty FORM"),
        ("# late comment\n", "comment line inside a sentence"),
    ],
)  # fmt: skip
def test_conllu_errors_name_file_and_line(tmp_path: Path, bad_line: str, message: str) -> None:
    path = write(tmp_path, "bad.conllu", "# sent_id = 1\n" + word(1, "Das", "DET") + bad_line + "\n")
    with pytest.raises(DataError, match="expected|empty|comment") as caught:
        read_conllu(path, "de", "upos")
    assert str(caught.value).startswith(f"{path}:3: ")
    assert message in str(caught.value)


def test_conllu_sentence_without_words_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.conllu", word(1, "Hi", "INTJ") + "\n# sent_id = orphan\n")
    with pytest.raises(DataError, match=r"a\.conllu:3: sentence without word lines"):
        read_conllu(path, "en", "upos")


def test_conllu_undecodable_byte_names_the_line(tmp_path: Path) -> None:
    text = (word(1, "Da", "ADV") + word(2, "XX", "NOUN")).encode().replace(b"XX", b"\xff")
    path = write(tmp_path, "a.conllu.gz", text)
    with pytest.raises(DataError, match=r"a\.conllu\.gz:2: cannot decode byte"):
        read_conllu(path, "de", "upos")


# --- CoNLL columns --------------------------------------------------------------------------------

CONLL_2003 = """-DOCSTART- -X- O O

EU NNP I-NP I-ORG
rejects VBZ I-VP O

German JJ I-NP I-MISC
call NN I-NP O

-DOCSTART- -X- O O

Peter NNP I-NP I-PER
"""

# Dutch CoNLL-2002: the document line is followed directly by the first sentence.
CONLL_2002_NL = """-DOCSTART- -DOCSTART- O
De Art O
tekst N O

Het Art O
-DOCSTART- -DOCSTART- O
Algemeen Adj B-MISC

"""


@pytest.mark.parametrize("name", ["train.txt", "train.txt.gz"])
def test_conll_docstart_on_its_own_line(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, CONLL_2003)
    examples = read_conll(path, "en", "ner")
    assert [e.tokens for e in examples] == [["EU", "rejects"], ["German", "call"], ["Peter"]]
    assert [e.labels for e in examples] == [["I-ORG", "O"], ["I-MISC", "O"], ["I-PER"]]
    assert [e.meta["document"] for e in examples] == [1, 1, 2]
    assert examples[0].meta["docstart"] == "-DOCSTART- -X- O O"
    assert "docstart" not in examples[1].meta
    assert examples[2].origin == f"{path}:11" and examples[2].meta["token_lines"] == [11]
    assert examples[0].meta["lines"] == ["EU NNP I-NP I-ORG", "rejects VBZ I-VP O"]


def test_conll_docstart_followed_directly_by_tokens(tmp_path: Path) -> None:
    examples = read_conll(write(tmp_path, "ned.train", CONLL_2002_NL), "nl", "ner")
    assert [e.tokens for e in examples] == [["De", "tekst"], ["Het"], ["Algemeen"]]
    assert [e.meta["document"] for e in examples] == [1, 1, 2]
    assert [e.meta["token_lines"][0] for e in examples] == [2, 5, 7]


def test_conll_columns_and_unlabelled(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", CONLL_2003)
    pos = read_conll(path, "en", "pos", label_column=1)
    assert pos[0].labels == ["NNP", "VBZ"]
    plain = read_conll(path, "en", "ner", label_column=None)
    assert plain[0].labels is None and plain[0].tokens == ["EU", "rejects"]


def test_conll_tab_separator_keeps_spaces_in_tokens(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", "New York\tB-LOC\nis\tO\n")
    assert read_conll(path, "en", "ner", separator="\t")[0].tokens == ["New York", "is"]
    with pytest.raises(
        DataError, match=r"a\.tsv:2: expected 3 columns \(as on line 1\), found 2; set `separator`"
    ):
        read_conll(path, "en", "ner")


def test_conll_single_space_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "a\tb X O\nc Y O\n")
    assert read_conll(path, "xx", "ner", separator=" ")[0].tokens == ["a\tb", "c"]


def test_conll_column_count_must_not_change(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "EU NNP I-ORG\n\nrejects VBZ I-VP O\n")
    with pytest.raises(DataError) as caught:
        read_conll(path, "en", "ner")
    assert str(caught.value).startswith(f"{path}:3: expected 3 columns (as on line 1), found 4")


def test_conll_column_out_of_range(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", "\nEU I-ORG\n")
    with pytest.raises(DataError, match=r"a\.txt:2: label_column 2 is out of range: the line has 2 columns"):
        read_conll(path, "en", "ner", label_column=2)


def test_conll_latin1(tmp_path: Path) -> None:
    text = (
        "-DOCSTART- -X- -X- -X- O\n\nGroßer großer ADJA I-NC O\nFoto-Wettbewerb Foto-Wettbewerb NN I-NC O\n"
    )
    path = write(tmp_path, "deu.testa.gz", text, encoding="latin-1")
    assert read_conll(path, "de", "ner", encoding="latin-1")[0].tokens == ["Großer", "Foto-Wettbewerb"]
    with pytest.raises(DataError, match=r"deu\.testa\.gz:3: cannot decode byte b'\\xdf' .* as utf-8"):
        read_conll(path, "de", "ner")


def test_conll_token_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "train.tsv", "sl:Baby\tB-ORG\nsl:One\tI-ORG\n")
    example = read_conll(path, "sl", "ner", separator="\t", token_prefix="sl:")[0]
    assert example.tokens == ["Baby", "One"]
    assert example.meta["lines"][0] == "sl:Baby\tB-ORG"


def test_conll_empty_label_with_tab_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", "a\tO\nb\t\n")
    with pytest.raises(DataError, match=r"a\.tsv:2: empty label"):
        read_conll(path, "xx", "ner", separator="\t")


# --- classification CSV ---------------------------------------------------------------------------


def test_csv_quoted_newlines_crlf_and_bom(tmp_path: Path) -> None:
    text = '\ufeff0,plain text\r\n1,"two\r\nlines, and a comma"\r\n0,""\r\n1,"say ""hi"""\r\n'
    path = write(tmp_path, "dev.csv.gz", text)
    examples = read_classification(path, "fi", "sentiment")
    assert [e.label for e in examples] == ["0", "1", "0", "1"]
    assert examples[1].meta["text"] == "two\nlines, and a comma"
    assert examples[1].tokens == ["two", "lines,", "and", "a", "comma"]
    assert examples[2].tokens == []  # empty text is allowed
    assert examples[3].tokens == ["say", '"hi"']
    assert [e.origin for e in examples] == [f"{path}:{n}" for n in (1, 2, 4, 5)]
    assert examples[1].meta["token_lines"] == [2] * 5


def test_csv_empty_label_names_the_physical_line(tmp_path: Path) -> None:
    path = write(tmp_path, "train.csv", '1,"a\nb\nc"\n ,text\n')
    with pytest.raises(DataError, match=r"train\.csv:4: empty label"):
        read_classification(path, "bg", "sentiment")


def test_csv_field_count_and_quoting_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "1,good\n0,bad, really\n")
    with pytest.raises(
        DataError, match=r"a\.csv:2: expected 2 fields .* found 3; is a text containing ',' not quoted"
    ):
        read_classification(path, "en", "sentiment")
    path = write(tmp_path, "b.csv", '1,good\n0,"never closed\n1,x\n')
    with pytest.raises(DataError, match=r"b\.csv:2: malformed CSV record"):
        read_classification(path, "en", "sentiment")


def test_csv_undecodable_byte_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv.gz", b'1,"one\ntwo"\n0,caf\xe9\n')
    with pytest.raises(DataError, match=r"a\.csv\.gz:3: cannot decode byte b'\\xe9'"):
        read_classification(path, "fr", "sentiment")
    assert read_classification(path, "fr", "sentiment", encoding="latin-1")[1].tokens == ["café"]


def test_tsv_with_header_and_named_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "a.tsv", "text\tlabel\nsehr gut\tpos\n\nschlecht\tneg\n")
    examples = read_classification(
        path, "de", "cls", label_column="label", text_column="text", delimiter="\t", has_header=True
    )
    assert [(e.tokens, e.label) for e in examples] == [(["sehr", "gut"], "pos"), (["schlecht"], "neg")]
    assert examples[1].origin == f"{path}:4"
    with pytest.raises(DataError, match="'stars' is not in the header"):
        read_classification(
            path, "de", "cls", label_column="stars", text_column="text", delimiter="\t", has_header=True
        )
    with pytest.raises(ConfigError):
        read_classification(path, "de", "cls", label_column="label")


def test_csv_custom_tokenizer(tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", "1,abc\n")
    assert read_classification(path, "th", "cls", tokenizer=list)[0].tokens == ["a", "b", "c"]


# --- plain text and the registry ------------------------------------------------------------------


def test_text_one_sentence_per_line(tmp_path: Path) -> None:
    path = write(tmp_path, "in.txt", "Hello  world\n\n  Bye\n")
    examples = read_text(path, "en", "upos")
    assert [e.tokens for e in examples] == [["Hello", "world"], ["Bye"]]
    assert [e.origin for e in examples] == [f"{path}:1", f"{path}:3"]
    assert examples[0].labels is None and examples[0].meta["token_lines"] == [1, 1]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_conll(tmp_path / "nope.txt", "en", "ner")


def test_readers_registry() -> None:
    assert (
        READERS["conllu"] is read_conllu and READERS["conll"] is read_conll and READERS["text"] is read_text
    )
    assert READERS["csv"] is READERS["classification"] is read_classification


# --- the synthetic corpus files -------------------------------------------------------------------


def test_synthetic_corpus_files_read_back(synthetic_data_dir: Path) -> None:
    conllu = read_conllu(synthetic_data_dir / "ud" / "syn_src" / "train.conllu", "syn_src", "upos")
    ner = read_conll(synthetic_data_dir / "ner" / "syn_unr" / "dev.txt", "syn_unr", "ner")
    cls = read_classification(synthetic_data_dir / "cls" / "syn_rel_cyrl" / "test.csv", "syn_rel_cyrl", "cls")
    assert (len(conllu), len(ner), len(cls)) == (60, 20, 20)
    assert any(len(e.meta["conllu_lines"]) > len(e.tokens) for e in conllu)  # multiword tokens present
    assert ner[0].meta["document"] == 1 and all(
        tag[:2] in ("O", "B-", "I-") for e in ner for tag in e.labels or []
    )
    assert {e.label for e in cls} == {"positive", "negative"}


# --- the real corpora, when present ---------------------------------------------------------------


def test_real_ud_english_ewt(real_file) -> None:
    examples = read_conllu(real_file("ud/en/en_ewt-ud-train.conllu.gz"), "en", "upos")
    assert len(examples) == 12_544
    assert sum(len(e) for e in examples) == 204_577  # syntactic words, multiword ranges excluded
    assert examples[0].tokens[:3] == ["Al", "-", "Zaman"] and examples[0].labels[:2] == ["PROPN", "PUNCT"]


def test_real_conll2002(real_file) -> None:
    assert len(read_conll(real_file("ner/es/train.txt.gz"), "es", "ner")) == 8_323
    dutch = read_conll(real_file("ner/nl/train.txt.gz"), "nl", "ner")
    # 15,806 sentences, not counting the 287 -DOCSTART- lines (see PROVENANCE-ner.md).
    assert len(dutch) == 15_806 and dutch[-1].meta["document"] == 287
    assert not any("-DOCSTART-" in e.tokens for e in dutch)


def test_real_conll2003_german_latin1(real_file) -> None:
    examples = read_conll(real_file("ner/de/dev.txt.gz"), "de", "ner", encoding="latin-1")
    assert len(examples) == 2_867 and len(examples[0].meta["lines"][0].split()) == 5


def test_real_sentiment_csv(real_file) -> None:
    thai = read_classification(real_file("cls/sentiment-typology/th/dev.csv.gz"), "th", "sentiment")
    assert len(thai) == 1_153 and {e.label for e in thai} == {"0", "1"}  # no BOM in the first label
    finnish = read_classification(real_file("cls/sentiment-typology/fi/train.csv.gz"), "fi", "sentiment")
    assert len(finnish) == 4_432 and any("\n" in str(e.meta["text"]) for e in finnish)
