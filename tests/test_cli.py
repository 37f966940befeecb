"""The command line end to end on synthetic data: train, evaluate, predict; errors without tracebacks."""

import json
from pathlib import Path

import pytest
import yaml

from babeltag.cli import main

NER_CONFIG = {
    "data": {
        "task": "ner",
        "language": "syn_src",
        "format": "conll",
        "train": "ner/syn_src/train.txt",
        "dev": "ner/syn_src/dev.txt",
        "test": "ner/syn_src/test.txt",
        "tag_scheme": "iob2",
    },
    "model": {
        "word_embedding": {"dim": 8},
        "char_encoder": {"type": "cnn", "char_dim": 5, "widths": [2, 3], "filters": 4, "highway_layers": 1},
        "word_encoder": {"hidden": 8},
        "head": {"type": "crf"},
        "train_scheme": "bioes",
    },
    "training": {"epochs": 2, "batch_size": 8},
}


@pytest.fixture
def trained_ner(synthetic_data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = tmp_path / "ner.yaml"
    config.write_text(yaml.safe_dump(NER_CONFIG))
    run = tmp_path / "run"
    code = main(
        ["train", str(config), "--out", str(run), "--data-dir", str(synthetic_data_dir), "--no-progress"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert {"dev", "test", "best_epoch"} <= set(summary)
    return run


def test_evaluate_matches_training_summary(
    trained_ner: Path, synthetic_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = json.loads((trained_ner / "metrics.json").read_text())
    assert (
        main(["evaluate", str(trained_ner / "model"), str(synthetic_data_dir / "ner/syn_src/test.txt")]) == 0
    )
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["f1"] == pytest.approx(metrics["test"]["f1"])
    assert "accuracy" in captured.err  # the conlleval-style report


def test_predict_writes_the_input_format_back(
    trained_ner: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    source = synthetic_data_dir / "ner/syn_src/test.txt"
    out = tmp_path / "predicted.txt"
    assert (
        main(["predict", str(trained_ner / "model"), str(source), "--format", "conll", "--output", str(out)])
        == 0
    )
    source_rows = [
        line.split() for line in source.read_text().splitlines() if line and "-DOCSTART-" not in line
    ]
    out_rows = [line.split() for line in out.read_text().splitlines() if line and "-DOCSTART-" not in line]
    assert len(out_rows) == len(source_rows)
    assert all(o[: len(s)] == s and len(o) == len(s) + 1 for o, s in zip(out_rows, source_rows, strict=True))

    text = tmp_path / "raw.txt"
    text.write_text("\n".join(" ".join(r[0] for r in source_rows[i : i + 5]) for i in range(0, 20, 5)) + "\n")
    tagged = tmp_path / "tagged.txt"
    assert (
        main(["predict", str(trained_ner / "model"), str(text), "--format", "text", "--output", str(tagged)])
        == 0
    )
    lines = tagged.read_text().splitlines()
    assert len(lines) == 4 and all(len(line.split()) == 5 and "/" in line for line in lines)


def test_errors_are_messages_not_tracebacks(
    tmp_path: Path, synthetic_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump({**NER_CONFIG, "training": {"epochz": 3}}))
    assert main(["train", str(config), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "training.epochz: unknown key" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # validated before anything is written

    broken = synthetic_data_dir / "ner/syn_src/train.txt"
    lines = broken.read_text().splitlines()
    lines[5] = lines[5] + " EXTRA"
    broken.write_text("\n".join(lines) + "\n")
    config.write_text(yaml.safe_dump(NER_CONFIG))
    code = main(["train", str(config), "--out", str(tmp_path / "r2"), "--data-dir", str(synthetic_data_dir)])
    assert code == 2
    err = capsys.readouterr().err
    assert "train.txt:6" in err and "Traceback" not in err
    assert not (tmp_path / "r2").exists()  # data is checked before the run directory is made

    assert main(["evaluate", str(tmp_path / "nope"), str(broken)]) == 2
    assert "not a model directory" in capsys.readouterr().err


def test_invalid_tag_sequence_names_the_line(
    tmp_path: Path, synthetic_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = synthetic_data_dir / "ner/syn_src/train.txt"
    lines = train.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith(" O") and i > 3)
    lines[index] = lines[index][: -len(" O")] + " I-PER"
    if index + 1 < len(lines) and lines[index + 1].endswith("I-PER"):
        pytest.skip("the synthetic line happens to precede an I-PER")
    train.write_text("\n".join(lines) + "\n")
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(NER_CONFIG))
    assert (
        main(["train", str(config), "--out", str(tmp_path / "r"), "--data-dir", str(synthetic_data_dir)]) == 2
    )
    err = capsys.readouterr().err
    assert f"train.txt:{index + 1}" in err and "IOB2" in err


def test_compare_runs_mcnemar(
    trained_ner: Path, synthetic_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(trained_ner / "model")
    data = str(synthetic_data_dir / "ner/syn_src/test.txt")
    assert main(["compare", model, model, data]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["a"]["score"] == result["b"]["score"]
    assert result["mcnemar"]["b"] == result["mcnemar"]["c"] == 0 and result["mcnemar"]["p_value"] == 1.0


def test_data_download_of_conll2003_prints_instructions_and_fails_until_the_files_are_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["data", "download", "conll2003", "--cache-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "not freely redistributable" in out and str(tmp_path / "ner" / "en") in out
    assert not any(tmp_path.glob("ner/en/*"))  # nothing was fetched
