"""Experiment grids: planning (overrides, drop_datasets, errors), resuming, the table, real runs.

Most tests replace the process launcher with a fake that writes a metrics.json; one test runs two
tiny `babeltag train` processes on synthetic data (one of them failing on a missing file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from babeltag.errors import BabeltagError, ConfigError
from babeltag.evaluation.predictions import read_predictions
from babeltag.training import grid as grid_module
from babeltag.training.grid import load_grid, plan_runs, run_grid

TINY_POS = {
    "data": {
        "task": "upos",
        "language": "syn_src",
        "format": "conllu",
        "train": "ud/syn_src/train.conllu",
        "dev": "ud/syn_src/dev.conllu",
        "test": "ud/syn_src/test.conllu",
    },
    "model": {"word_embedding": {"dim": 4}, "char_encoder": {"type": "none"}, "word_encoder": {"hidden": 4}},
    "training": {"epochs": 1, "batch_size": 16},
}

MULTI = {
    "datasets": {
        "pos_src": {
            "task": "upos",
            "language": "syn_src",
            "train": "ud/syn_src/train.conllu",
            "role": "target",
        },
        "pos_rel": {"task": "upos", "language": "syn_rel", "train": "ud/syn_rel/train.conllu"},
        "pos_unr": {"task": "upos", "language": "syn_unr", "train": "ud/syn_unr/train.conllu"},
    },
    "training": {"epochs": 1},
}

GRID_2X2 = {
    "base": "base.yaml",
    "overrides": {"training.threads": 1},
    "axes": [
        {"name": "dim", "key": "model.word_embedding.dim", "values": [4, 8]},
        {
            "name": "lr",
            "values": {"slow": {"training.optimizer.lr": 0.001}, "fast": {"training.optimizer.lr": 0.01}},
        },
    ],
    "seeds": [1, 2],
    "report": {"metric": "accuracy", "splits": ["test", "dev"], "deltas": {"fast - slow": ["fast", "slow"]}},
}


def write_grid(tmp_path: Path, grid: dict[str, Any], base: dict[str, Any] = TINY_POS) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid, sort_keys=False))
    return path


def fake_score(config: dict[str, Any], split: str) -> float:
    """A made-up but deterministic score of one run, so the table can be checked by hand."""
    seed = config["training"]["seed"]
    dim = config["model"]["word_embedding"]["dim"]
    lr = config["training"]["optimizer"]["lr"]
    return 50.0 + dim + (10.0 if lr == 0.01 else 0.0) + 3.0 * seed + (0.5 if split == "dev" else 0.0)


def fake_launcher(launched: list[Path], fail: set[str] = frozenset()):  # type: ignore[assignment]
    def launch(command: list[str], run_dir: Path) -> int:
        launched.append(run_dir)
        assert command[1:4] == ["-m", "babeltag.cli", "train"] and "--no-progress" in command
        if any(part in str(run_dir) for part in fail):
            (run_dir / "stderr.log").write_text("babeltag: error: something broke\n")
            return 2
        config = yaml.safe_load((run_dir / "config.input.yaml").read_text())
        metrics = {split: {"accuracy": fake_score(config, split)} for split in ("dev", "test")}
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        return 0

    return launch


def test_dry_run_writes_one_resolved_config_per_cell_and_seed(tmp_path: Path) -> None:
    path = write_grid(tmp_path, GRID_2X2)
    plan = run_grid(path, tmp_path / "out", dry_run=True)
    assert plan["dry_run"] is True and len(plan["runs"]) == 8
    assert not any(run["done"] for run in plan["runs"])
    assert plan["runs"][0] == {
        "cell": {"dim": "4", "lr": "slow"},
        "seed": 1,
        "run_dir": str(tmp_path / "out/runs/dim=4/lr=slow/seed1"),
        "done": False,
    }
    config = yaml.safe_load((tmp_path / "out/runs/dim=8/lr=fast/seed2/config.input.yaml").read_text())
    assert config["model"]["word_embedding"]["dim"] == 8
    assert config["training"] == {
        "epochs": 1,
        "batch_size": 16,
        "threads": 1,
        "optimizer": {"lr": 0.01},
        "seed": 2,
    }
    assert config["data"] == TINY_POS["data"]  # relative data paths are left for --data-dir
    assert len(list((tmp_path / "out/runs").glob("*/*/seed*/config.input.yaml"))) == 8
    resolved = yaml.safe_load((tmp_path / "out/grid.yaml").read_text())
    assert resolved["base_config"] == TINY_POS and resolved["seeds"] == [1, 2]
    assert resolved["report"]["deltas"] == {"fast - slow": ["fast", "slow"]}
    assert not (tmp_path / "out/results.json").exists()


def test_command_line_settings_apply_to_every_run_before_the_axes(tmp_path: Path) -> None:
    """--set KEY=VALUE reaches every run, after the grid's overrides and before the axes' values,
    and the record of the grid keeps it, so that `babeltag report` plans the same runs."""
    path = write_grid(tmp_path, GRID_2X2)
    settings = ["training.threads=2", "model.word_embedding.dim=16", "training.epochs=3"]
    run_grid(path, tmp_path / "out", dry_run=True, settings=settings)
    config = yaml.safe_load((tmp_path / "out/runs/dim=8/lr=fast/seed1/config.input.yaml").read_text())
    assert config["training"]["threads"] == 2  # over the grid's own override of 1
    assert config["training"]["epochs"] == 3
    assert config["model"]["word_embedding"]["dim"] == 8  # the axis has the last word
    assert yaml.safe_load((tmp_path / "out/grid.yaml").read_text())["set"] == settings
    with pytest.raises(ConfigError, match="expected key=value"):
        plan_runs(load_grid(path), tmp_path / "other", ["training.threads"])


def test_dropping_a_language_s_datasets_drops_its_word_vectors(tmp_path: Path) -> None:
    base = {**MULTI, "word_vectors": {"syn_src": "src.vec", "syn_rel": "rel.vec"}}
    grid = {
        "base": "base.yaml",
        "axes": [
            {"name": "variant", "values": {"alone": {"drop_datasets": ["pos_rel", "pos_unr"]}, "all": {}}}
        ],
        "seeds": [1],
        "report": {"dataset": "pos_src", "metric": "accuracy"},
    }
    runs = {
        run.cell[0]: run.config for run in plan_runs(load_grid(write_grid(tmp_path, grid, base)), tmp_path)
    }
    assert runs["alone"]["word_vectors"] == {"syn_src": "src.vec"}
    assert runs["all"]["word_vectors"] == {"syn_src": "src.vec", "syn_rel": "rel.vec"}


def test_drop_datasets_and_dataset_overrides(tmp_path: Path) -> None:
    grid = {
        "base": "base.yaml",
        "axes": [
            {"name": "sentences", "key": "datasets.pos_src.labelled_sentences", "values": [10, 20]},
            {
                "name": "variant",
                "values": {
                    "separate": {"drop_datasets": ["pos_rel", "pos_unr"]},
                    "related": {"drop_datasets": ["pos_unr"]},
                    "joint": None,
                },
            },
        ],
        "report": {"dataset": "pos_src", "deltas": {"joint - separate": ["joint", "separate"]}},
    }
    runs = plan_runs(load_grid(write_grid(tmp_path, grid, MULTI)), tmp_path / "out")
    assert [run.cell for run in runs] == [
        (s, v) for s in ("10", "20") for v in ("separate", "related", "joint")
    ]
    by_cell = {run.cell: run.config for run in runs}
    assert list(by_cell[("10", "separate")]["datasets"]) == ["pos_src"]
    assert list(by_cell[("10", "related")]["datasets"]) == ["pos_src", "pos_rel"]
    assert list(by_cell[("20", "joint")]["datasets"]) == ["pos_src", "pos_rel", "pos_unr"]
    assert by_cell[("20", "separate")]["datasets"]["pos_src"]["labelled_sentences"] == 20
    assert "labelled_sentences" not in MULTI["datasets"]["pos_src"]  # the base is not changed

    grid["axes"][1]["values"]["separate"] = {"drop_datasets": ["pos_xx"]}
    with pytest.raises(
        ConfigError, match=r"grid\.yaml: sentences=10 variant=separate: drop_datasets: no dataset 'pos_xx'"
    ):
        plan_runs(load_grid(write_grid(tmp_path, grid, MULTI)), tmp_path / "out")
    grid["axes"][1]["values"]["separate"] = {"drop_datasets": ["pos_src"]}
    with pytest.raises(ConfigError, match="report.dataset 'pos_src' is not among"):
        plan_runs(load_grid(write_grid(tmp_path, grid, MULTI)), tmp_path / "out")
    grid = {**grid, "axes": grid["axes"][1:], "report": {}}
    with pytest.raises(
        ConfigError, match="variant=separate: drop_datasets needs a base config with a `datasets:`"
    ):
        plan_runs(load_grid(write_grid(tmp_path, grid, TINY_POS)), tmp_path / "out")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"axis": []}, r"grid\.yaml: invalid grid\n  axis: unknown key"),
        ({"report": {"metrc": "f1"}}, r"report\.metrc: unknown key"),
        ({"axes": [{"name": "dim", "values": [4, 8]}]}, r"axes\.0: a list of values needs `key`"),
        (
            {"axes": [{"name": "dim", "key": "model.word_embedding.dim", "values": {"a": {}}}]},
            r"axes\.0: `key` goes with a list",
        ),
        (
            {"axes": [{"name": "dim", "key": "x", "values": [{"a": 1}]}]},
            r"axes\.0: values: a list holds scalars",
        ),
        (
            {"axes": [{"name": "d", "key": "data.train", "values": ["a/b.conllu"]}]},
            "cannot be part of a directory",
        ),
        ({"axes": []}, r"axes: List should have at least 1 item"),
        (
            {"report": {"deltas": {"x": ["fast", "medium"]}}},
            r"report\.deltas\.x: \['medium'\] are not values",
        ),
        (
            {"report": {"groups": {"big": ["8", "16"]}}},
            r"report\.groups\.big: \['16'\] are not values of the first axis 'dim'",
        ),
        (
            {
                "axes": [{"name": "dim", "key": "model.word_embedding.dim", "values": [4, 8]}],
                "report": {"groups": {"big": ["8"]}},
            },
            r"report\.groups: averages of rows need a grid with two axes",
        ),
        (
            {"overrides": {"training.epochz": 3}},
            r"grid\.yaml: dim=4 lr=slow .*\n  training\.epochz: unknown key",
        ),
        ({"base": "missing.yaml"}, r"missing\.yaml: base config \(`base` in .*grid\.yaml\) not found"),
    ],
)
def test_grid_errors_name_the_file_and_key(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = write_grid(tmp_path, {**GRID_2X2, **change})
    with pytest.raises(ConfigError, match=message) as error:
        run_grid(path, tmp_path / "out", dry_run=True)
    assert str(path) in str(error.value) or "missing.yaml" in str(error.value)
    assert not (tmp_path / "out").exists()  # checked before anything is written


def test_resume_skips_finished_runs_and_the_table_aggregates_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_grid(tmp_path, GRID_2X2)
    out = tmp_path / "out"
    finished = out / "runs/dim=4/lr=slow/seed1"
    finished.mkdir(parents=True)
    (finished / "metrics.json").write_text(
        json.dumps({"test": {"accuracy": 99.0}, "dev": {"accuracy": 98.0}})
    )
    launched: list[Path] = []
    monkeypatch.setattr(grid_module, "launch_run", fake_launcher(launched))

    results = run_grid(path, out, jobs=2)
    assert len(launched) == 7 and finished not in launched
    assert results["runs"] == {"planned": 8, "finished": 8, "failed": [], "ran": 7}
    err = capsys.readouterr().err
    assert "8 runs, 1 already finished, 7 to run" in err
    assert "dim=8 lr=fast seed 2: test accuracy 74.00" in err  # 50 + 8 + 10 + 3 * 2

    cells = {tuple(c["cell"].values()): c for c in results["cells"]}
    assert list(cells) == [("4", "slow"), ("4", "fast"), ("8", "slow"), ("8", "fast")]
    first = cells[("4", "slow")]["test"]
    assert first["values"] == [99.0, 60.0] and first["seeds"] == [1, 2]  # the finished run's score is kept
    for entry in cells.values():
        for split in ("test", "dev"):
            values = entry[split]["values"]
            assert entry[split]["n"] == 2
            assert entry[split]["mean"] == pytest.approx(np.mean(values))
            assert entry[split]["std"] == pytest.approx(np.std(values, ddof=1))
    (delta,) = results["deltas"]
    assert delta["name"] == "fast - slow" and [v["cell"] for v in delta["values"]] == [
        {"dim": "4"},
        {"dim": "8"},
    ]
    assert delta["values"][1]["test"] == pytest.approx(10.0)
    assert delta["values"][0]["test"] == pytest.approx(
        cells[("4", "fast")]["test"]["mean"] - np.mean([99.0, 60.0])
    )

    assert json.loads((out / "results.json").read_text()) == results
    # a numeric first axis makes a learning curve: one line per value of the second axis
    assert results["plots"]["learning_curve"] == str(out / "learning_curve.png")
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert grid_module.curve_points(results) == {
        "slow": [
            (4.0, cells[("4", "slow")]["test"]["mean"], cells[("4", "slow")]["test"]["std"]),
            (8.0, 62.5, pytest.approx(2.1213, abs=1e-3)),
        ],
        "fast": [
            (4.0, cells[("4", "fast")]["test"]["mean"], cells[("4", "fast")]["test"]["std"]),
            (8.0, 72.5, pytest.approx(2.1213, abs=1e-3)),
        ],
    }
    markdown = (out / "results.md").read_text()
    assert "| dim \\ lr | slow | fast | fast - slow |" in markdown
    assert "| 8 | 62.50 ± 2.12 | 72.50 ± 2.12 | +10.00 |" in markdown
    assert markdown.index("## test (headline)") < markdown.index("## dev")

    launched.clear()  # everything is finished now: nothing runs again
    assert run_grid(path, out)["cells"] == results["cells"] and launched == []

    # `babeltag report` rebuilds the tables from the runs alone
    for name in ("results.json", "results.md", "results.csv", "learning_curve.png"):
        (out / name).unlink()
    rebuilt = grid_module.report_grid(out)
    assert rebuilt["cells"] == results["cells"] and launched == []
    assert (out / "results.md").read_text() == markdown
    header, first_row = (out / "results.csv").read_text().splitlines()[:2]
    assert header == "dim,lr,test_mean,test_std,test_n,dev_mean,dev_std,dev_n"
    assert first_row.startswith("4,slow,79.5,")


def test_groups_average_the_cell_means_of_their_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    grid = {
        **GRID_2X2,
        "axes": [
            {"name": "dim", "key": "model.word_embedding.dim", "values": [4, 8, 16]},
            GRID_2X2["axes"][1],
        ],
        "report": {**GRID_2X2["report"], "groups": {"small": ["4", "8"], "big": ["16"]}},
    }
    path = write_grid(tmp_path, grid)
    launched: list[Path] = []
    monkeypatch.setattr(grid_module, "launch_run", fake_launcher(launched, fail={"dim=16/lr=fast/seed2"}))
    with pytest.raises(BabeltagError, match="1 of 12 runs"):
        run_grid(path, tmp_path / "out")
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    groups = {g["name"]: g for g in results["groups"]}
    assert list(groups) == ["small", "big", "all rows"] and groups["all rows"]["rows"] == ["4", "8", "16"]
    # fake_score: 50 + dim + 10 (fast) + 3 * seed (+0.5 on dev); seeds 1 and 2 average to 4.5
    small = groups["small"]["test"]
    assert small["columns"] == {"slow": pytest.approx(50 + 6 + 4.5), "fast": pytest.approx(70.5)}
    assert small["deltas"] == {"fast - slow": pytest.approx(10.0)}
    assert groups["small"]["dev"]["columns"]["slow"] == pytest.approx(61.0)
    # dim 16 fast lost its seed 2: the cell mean is seed 1 alone, the average still covers the row
    assert groups["big"]["test"]["columns"]["fast"] == pytest.approx(50 + 16 + 10 + 3)
    assert groups["all rows"]["test"]["columns"]["slow"] == pytest.approx((58.5 + 62.5 + 70.5) / 3)
    markdown = (tmp_path / "out" / "results.md").read_text()
    assert "| average over dim | slow | fast | fast - slow |" in markdown
    assert "| small (2) | 60.50 | 70.50 | +10.00 |" in markdown


def test_a_group_with_a_row_without_runs_has_no_average() -> None:
    config = grid_module.GridConfig.model_validate(
        {**GRID_2X2, "report": {"metric": "accuracy", "groups": {"both": ["4", "8"]}}}
    )
    means = {("4", "slow"): {"test": 1.0}, ("4", "fast"): {"test": 2.0}, ("8", "slow"): {"test": 3.0}}
    (both, everything) = grid_module.group_averages(config, means, [])
    assert both["test"]["columns"] == {"slow": 2.0, "fast": None}
    assert everything["name"] == "all rows"


def test_failed_runs_are_listed_after_the_table_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_grid(tmp_path, GRID_2X2)
    out = tmp_path / "out"
    launched: list[Path] = []
    monkeypatch.setattr(grid_module, "launch_run", fake_launcher(launched, fail={"dim=8/lr=fast/seed1"}))
    with pytest.raises(BabeltagError, match=r"1 of 8 runs .* failed") as error:
        run_grid(path, out)
    assert len(launched) == 8
    log = out / "runs/dim=8/lr=fast/seed1/stderr.log"
    assert f"dim=8 lr=fast seed 1: exit code 2: babeltag: error: something broke (see {log})" in str(
        error.value
    )
    results = json.loads((out / "results.json").read_text())
    assert results["runs"]["finished"] == 7 and results["runs"]["failed"][0]["log"] == str(log)
    cell = next(c for c in results["cells"] if c["cell"] == {"dim": "8", "lr": "fast"})
    assert cell["test"]["n"] == 1 and cell["test"]["seeds"] == [2]
    assert "(n=1)" in (out / "results.md").read_text()


def test_real_runs_one_finishing_one_failing(tmp_path: Path, synthetic_data_dir: Path) -> None:
    grid = {
        "base": "base.yaml",
        "overrides": {"training.threads": 1},
        "axes": [
            {"name": "data", "values": {"ok": {}, "broken": {"data.train": "ud/syn_src/missing.conllu"}}}
        ],
        "seeds": [3],
        "report": {"metric": "accuracy", "deltas": {"ok - broken": ["ok", "broken"]}},
    }
    path = write_grid(tmp_path, grid)
    out = tmp_path / "out"
    with pytest.raises(BabeltagError, match="stderr.log") as error:
        run_grid(path, out, data_dir=synthetic_data_dir, jobs=2)
    log = out / "runs/data=broken/seed3/stderr.log"
    assert str(log) in str(error.value) and "missing.conllu" in log.read_text()
    assert (out / "runs/data=ok/seed3/model").is_dir()
    results = json.loads((out / "results.json").read_text())
    ok, broken = results["cells"]
    metrics = json.loads((out / "runs/data=ok/seed3/metrics.json").read_text())
    assert ok["test"]["values"] == [metrics["test"]["accuracy"]] and broken["test"]["n"] == 0
    # the run saved what it predicted, gold beside it, so the accuracy can be recomputed from it
    gold, predicted = read_predictions(out / "runs/data=ok/seed3/predictions/test.jsonl")
    pairs = [(g, p) for gs, ps in zip(gold, predicted, strict=True) for g, p in zip(gs, ps, strict=True)]
    assert 100 * sum(g == p for g, p in pairs) / len(pairs) == pytest.approx(metrics["test"]["accuracy"])
    assert results["deltas"][0]["values"] == [{"cell": {}, "test": None, "test_mcnemar": [], "test_mark": ""}]
    markdown = (out / "results.md").read_text()
    assert "| data | accuracy |" in markdown and "| broken | – |" in markdown
    assert "| ok - broken | – |" in markdown


def test_differences_carry_mcnemar_marks_from_saved_predictions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each run saves its test predictions; a difference gets * / ** when McNemar's test on the
    two variants' runs with the same seed says p < 0.05 / 0.01 for every seed."""
    from babeltag.evaluation.significance import mcnemar

    gold = [["NOUN", "VERB", "DET", "NOUN"]] * 50  # 200 tokens

    def predictions(config: dict[str, Any]) -> list[list[str]]:
        # dim 8: fast gets 60 more tokens right than slow (significant); dim 4: 2 more (not)
        dim, lr = config["model"]["word_embedding"]["dim"], config["training"]["optimizer"]["lr"]
        wrong = 80 if lr == 0.001 else (20 if dim == 8 else 78)
        wrong += config["training"]["seed"] % 2  # the seeds differ a little
        flat = [tag for sentence in gold for tag in sentence]
        flat = ["X" if i < wrong else tag for i, tag in enumerate(flat)]
        return [flat[i : i + 4] for i in range(0, len(flat), 4)]

    def launch(command: list[str], run_dir: Path) -> int:
        config = yaml.safe_load((run_dir / "config.input.yaml").read_text())
        (run_dir / "metrics.json").write_text(json.dumps({"test": {"accuracy": fake_score(config, "test")}}))
        (run_dir / "predictions").mkdir()
        with (run_dir / "predictions/test.jsonl").open("w") as handle:
            for g, p in zip(gold, predictions(config), strict=True):
                handle.write(json.dumps({"gold": g, "predicted": p}) + "\n")
        return 0

    monkeypatch.setattr(grid_module, "launch_run", launch)
    grid = {**GRID_2X2, "report": {**GRID_2X2["report"], "splits": ["test"]}}
    results = run_grid(write_grid(tmp_path, grid), tmp_path / "out")
    [delta] = results["deltas"]
    by_dim = {value["cell"]["dim"]: value for value in delta["values"]}
    assert by_dim["8"]["test_mark"] == "**" and by_dim["4"]["test_mark"] == ""
    fast, slow = (
        {"model": {"word_embedding": {"dim": 8}}, "training": {"seed": 1, "optimizer": {"lr": lr}}}
        for lr in (0.01, 0.001)
    )
    expected = mcnemar(gold, predictions(fast), predictions(slow))
    test = by_dim["8"]["test_mcnemar"][0]
    assert (test["seed"], test["b"], test["c"]) == (1, expected.b, expected.c) == (1, 60, 0)
    assert test["p_value"] == pytest.approx(expected.p_value)
    markdown = (tmp_path / "out/results.md").read_text()
    assert "| 8 |" in markdown and "**" in markdown.split("| 8 |")[1].splitlines()[0]
    assert "McNemar" in markdown
    csv = (tmp_path / "out/deltas.csv").read_text().splitlines()
    assert csv[0].startswith("difference,dim,split,value,mark,mcnemar_p")
    assert len(csv) == 3 and ",**," in csv[2]
