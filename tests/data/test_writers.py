from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from babeltag.data.example import Example
from babeltag.data.readers import read_classification, read_conll, read_conllu, read_text
from babeltag.data.writers import write_conll, write_conllu, write_text

CONLLU = (
    "# sent_id = s1\n"
    "# text = Vamos al cine.\n"
    "1-2\tVamos\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tVamos\tir\tVERB\t_\tMood=Ind|Number=Plur\t0\troot\t0:root\t_\n"
    "2\tnos\tnosotros\tPRON\t_\tCase=Acc\t1\tobj\t1:obj\t_\n"
    "3-4\tal\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "3\ta\ta\tADP\t_\t_\t5\tcase\t5:case\t_\n"
    "4\tel\tel\tDET\t_\tDefinite=Def\t5\tdet\t5:det\t_\n"
    "4.1\tir\tir\tVERB\t_\t_\t_\t_\t1:conj\t_\n"
    "5\tcine\tcine\tNOUN\t_\tNumber=Sing\t1\tobl\t1:obl\tSpaceAfter=No\n"
    "6\t.\t.\tPUNCT\t_\t_\t1\tpunct\t1:punct\t_\n"
    "\n"
    "# sent_id = s2\n"
    "1\tSí\tsí\tINTJ\t_\t_\t0\troot\t0:root\t_\n"
    "\n"
)


def test_conllu_round_trip_is_byte_identical(tmp_path: Path) -> None:
    source = tmp_path / "in.conllu"
    source.write_text(CONLLU, encoding="utf-8")
    examples = read_conllu(source, "es", "upos")
    target = tmp_path / "out.conllu"
    write_conllu(examples, [e.labels for e in examples], target)
    assert target.read_bytes() == source.read_bytes()


def test_conllu_predictions_replace_only_the_label_column(tmp_path: Path) -> None:
    source = tmp_path / "in.conllu"
    source.write_text(CONLLU, encoding="utf-8")
    examples = read_conllu(source, "es", "upos")
    predicted = [["X"] * len(e) for e in examples]
    handle = io.StringIO()
    write_conllu(examples, predicted, handle)
    written = handle.getvalue().splitlines()
    original = CONLLU.splitlines()
    assert len(written) == len(original)
    for new, old in zip(written, original, strict=True):
        if new.split("\t")[0].isdigit():
            new_columns, old_columns = new.split("\t"), old.split("\t")
            assert (
                new_columns[3] == "X"
                and new_columns[:3] + new_columns[4:] == old_columns[:3] + old_columns[4:]
            )
        else:
            assert new == old  # comments, ranges, empty nodes and blank lines verbatim


def test_conllu_feats_column(tmp_path: Path) -> None:
    source = tmp_path / "in.conllu"
    source.write_text(CONLLU, encoding="utf-8")
    examples = read_conllu(source, "es", "feats", label_field="feats")
    target = tmp_path / "out.conllu.gz"
    write_conllu(examples, [e.labels for e in examples], target, label_field="feats")
    assert [e.labels for e in read_conllu(target, "es", "feats", label_field="feats")] == [
        e.labels for e in examples
    ]


def test_conllu_from_plain_text(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("Hola mundo\n", encoding="utf-8")
    examples = read_text(source, "es", "upos")
    target = tmp_path / "out.conllu"
    write_conllu(examples, [["INTJ", "NOUN"]], target)
    back = read_conllu(target, "es", "upos")
    assert back[0].tokens == ["Hola", "mundo"] and back[0].labels == ["INTJ", "NOUN"]


def test_conllu_round_trip_of_synthetic_files(synthetic_data_dir: Path, tmp_path: Path) -> None:
    for source in sorted((synthetic_data_dir / "ud").glob("*/dev.conllu")):
        examples = read_conllu(source, source.parent.name, "upos")
        target = tmp_path / f"{source.parent.name}.conllu"
        write_conllu(examples, [e.labels for e in examples], target)
        assert target.read_bytes() == source.read_bytes()


CONLL = "-DOCSTART- -X- O O\n\nEU NNP I-NP B-ORG\nrejects VBZ I-VP O\n\nPeter NNP I-NP B-PER\n\n"


def test_conll_appends_prediction_after_gold(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text(CONLL, encoding="ascii")
    examples = read_conll(source, "en", "ner")
    target = tmp_path / "out.txt"
    write_conll(examples, [["B-ORG", "B-MISC"], ["O"]], target)
    assert target.read_text() == (
        "-DOCSTART- -X- O O O\n\nEU NNP I-NP B-ORG B-ORG\nrejects VBZ I-VP O B-MISC\n\nPeter NNP I-NP B-PER O\n\n"
    )
    back = read_conll(target, "en", "ner")
    assert [e.labels for e in back] == [["B-ORG", "B-MISC"], ["O"]]
    assert [e.labels for e in read_conll(target, "en", "ner", label_column=-2)] == [
        e.labels for e in examples
    ]


def test_conll_read_without_gold_keeps_its_columns(tmp_path: Path) -> None:
    source = tmp_path / "in.tsv"
    source.write_text("-DOCSTART-\tO\nNew York\tB-LOC\n", encoding="utf-8")
    examples = read_conll(source, "en", "ner", separator="\t", label_column=None)
    handle = io.StringIO()
    write_conll(examples, [["I-LOC"]], handle)
    assert handle.getvalue() == "-DOCSTART-\tO\tO\n\nNew York\tB-LOC\tI-LOC\n\n"


def test_conll_from_examples_without_columns(tmp_path: Path) -> None:
    gold = Example(["a", "b"], "xx", "ner", labels=["B-PER", "O"])
    handle = io.StringIO()
    write_conll([gold], [["O", "O"]], handle)
    assert handle.getvalue() == "a B-PER O\nb O O\n\n"
    text = tmp_path / "in.txt"
    text.write_text("a b\n")
    handle = io.StringIO()
    write_conll(read_text(text, "xx", "ner"), [["B-PER", "O"]], handle, separator="\t")
    assert handle.getvalue() == "a\tB-PER\nb\tO\n\n"


def test_text_tags_and_classes(tmp_path: Path) -> None:
    csv_file = tmp_path / "in.csv"
    csv_file.write_text('1,"two\nlines"\n', encoding="utf-8")
    documents = read_classification(csv_file, "fi", "sentiment")
    sentence = Example(["Hola", "mundo"], "es", "upos")
    target = tmp_path / "out.txt"
    write_text([sentence, documents[0]], [["INTJ", "NOUN"], "0"], target)
    assert target.read_text(encoding="utf-8") == "Hola/INTJ mundo/NOUN\n0\ttwo lines\n"


def test_gzip_output(tmp_path: Path) -> None:
    target = tmp_path / "out.txt.gz"
    write_text([Example(["a"], "xx", "upos")], [["X"]], target)
    assert gzip.decompress(target.read_bytes()) == b"a/X\n"


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    good = Example(["a"], "xx", "upos")
    broken = Example(["b"], "xx", "upos", meta={"conllu_lines": [], "comments": [], "word_rows": [3]})
    target = tmp_path / "out.conllu"
    with pytest.raises(IndexError):
        write_conllu([good, broken], [["X"], ["Y"]], target)
    assert list(tmp_path.iterdir()) == []
    target.write_text("old\n")
    with pytest.raises(IndexError):
        write_conllu([good, broken], [["X"], ["Y"]], target)
    assert target.read_text() == "old\n" and list(tmp_path.iterdir()) == [target]


def test_misaligned_predictions_are_refused() -> None:
    examples = [Example(["a", "b"], "xx", "upos")]
    with pytest.raises(ValueError, match="1 examples but 2 predictions"):
        write_conll(examples, [["X", "X"], ["X"]], io.StringIO())
    with pytest.raises(ValueError, match="2 tokens"):
        write_conllu(examples, [["X"]], io.StringIO())
