"""An experiment grid: one YAML file reproduces a results table with one command.

grid file -> one training config per cell x seed -> a ``babeltag train`` process each
-> their metrics.json -> mean ± std per cell (evaluation.tables) -> results.json + results.md

A grid file names a base training config, overrides applied to every run, one or two axes (rows and
columns of the table), the seeds each cell is trained with, and which score to report::

    base: lin2018_nl.yaml                   # relative to the grid file
    overrides: {training.threads: 1}        # dotted key -> value, for every run
    axes:
      - name: sentences
        key: datasets.ner_nl.labelled_sentences
        values: [10, 50, 100, 200]          # each value is set at `key`
      - name: variant
        values:                             # or: value name -> overrides (+ drop_datasets)
          separate: {drop_datasets: [ner_en]}
          joint: {}
    seeds: [1, 2, 3]
    report: {dataset: ner_nl, metric: f1, splits: [test, dev], deltas: {joint - separate: [joint, separate]}}

Each run is a separate process with its own directory, ``runs/<axis1>=<v1>/<axis2>=<v2>/seed<S>``;
a run whose directory already has metrics.json is not run again, so an interrupted grid resumes.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from babeltag.config import (
    Section,
    apply_overrides,
    format_validation_error,
    parse_any_config,
    read_raw_config,
)
from babeltag.errors import BabeltagError, ConfigError
from babeltag.evaluation.significance import MCNEMAR_LEGEND, mcnemar_of_files, significance_mark
from babeltag.evaluation.tables import MISSING, format_delta, markdown_table, render_markdown, summarise

DROP_DATASETS = "drop_datasets"
"""The one key of an axis value's overrides that is not a config key: remove these datasets."""


def _check_name(name: str, what: str) -> str:
    # names become directory names (runs/<axis>=<value>/...)
    if not name or name in (".", "..") or any(c in name for c in '/\\=:*?"<>|\n\t'):
        raise ValueError(f'{what} {name!r} cannot be part of a directory name (no / \\ = : * ? " < > |)')
    return name


def value_name(value: Any) -> str:
    """How a scalar axis value is written in directory names and tables: as in YAML (true, 0.5, null)."""
    return value if isinstance(value, str) else json.dumps(value)


class GridAxis(Section):
    """One factor of the table: a list of values set at ``key``, or named values with overrides each."""

    name: str
    key: str | None = Field(None, description="dotted config key each value of a list is set at")
    values: list[Any] | dict[str, Any]

    @field_validator("name")
    @classmethod
    def _name_is_a_directory_name(cls, name: str) -> str:
        return _check_name(name, "axis name")

    @field_validator("values", mode="before")
    @classmethod
    def _keys_are_names(cls, values: Any) -> Any:
        # YAML reads `10: {...}` with an int key; the name is what is written
        if isinstance(values, dict):
            return {value_name(k): v for k, v in values.items()}
        return values

    @model_validator(mode="after")
    def _shape(self) -> GridAxis:
        if not self.values:
            raise ValueError("values: at least one value is needed")
        if isinstance(self.values, list):
            if self.key is None:
                raise ValueError("a list of values needs `key`, the dotted config key each value is set at")
            for value in self.values:
                if isinstance(value, dict | list):
                    raise ValueError(
                        f"values: a list holds scalars set at `key` (got {value!r}); "
                        "for anything else give a mapping value name -> overrides"
                    )
        else:
            if self.key is not None:
                raise ValueError(
                    "`key` goes with a list of values; a mapping gives each value its own overrides"
                )
            for name, overrides in self.values.items():
                if overrides is None:
                    self.values[name] = overrides = {}
                if not isinstance(overrides, dict):
                    raise ValueError(
                        f"values.{name}: expected a mapping of dotted keys -> values, got {overrides!r}"
                    )
                drops = overrides.get(DROP_DATASETS, [])
                if not isinstance(drops, list) or not all(isinstance(d, str) for d in drops):
                    raise ValueError(f"values.{name}.{DROP_DATASETS}: expected a list of dataset names")
        names = self.value_names()
        for name in names:
            _check_name(name, f"value of axis {self.name!r}:")
        if len(set(names)) != len(names):
            raise ValueError(f"values: the names {names} are not all different")
        return self

    def value_names(self) -> list[str]:
        if isinstance(self.values, list):
            return [value_name(v) for v in self.values]
        return list(self.values)

    def settings(self) -> list[tuple[str, dict[str, Any], list[str]]]:
        """(value name, dotted key -> value overrides, datasets to drop) for each value."""
        if isinstance(self.values, list):
            assert self.key is not None
            return [(value_name(v), {self.key: v}, []) for v in self.values]
        return [
            (name, {k: v for k, v in over.items() if k != DROP_DATASETS}, list(over.get(DROP_DATASETS, [])))
            for name, over in self.values.items()
        ]


class GridReport(Section):
    """Which number of each run's metrics.json the table is made of."""

    dataset: str | None = Field(
        None, description="multi-task runs: metrics['datasets'][dataset]; omit for a single-task config"
    )
    metric: str = Field("score", description="key in the split's scores: f1, accuracy, score, ...")
    splits: list[str] = Field(default_factory=lambda: ["test"], min_length=1, description="first = headline")
    deltas: dict[str, tuple[str, str]] = Field(
        default_factory=dict, description="name -> [a, b]: mean(a) - mean(b), values of the last axis"
    )
    groups: dict[str, list[str]] = Field(
        default_factory=dict,
        description="name -> values of the first axis: average rows (e.g. language families); "
        "two-axis grids; an 'all rows' average is added",
    )


class GridConfig(Section):
    base: str = Field(..., description="training config, relative to the grid file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted key -> value, every run")
    axes: list[GridAxis] = Field(..., min_length=1, max_length=2, description="rows, then columns")
    seeds: list[int] = Field(default_factory=lambda: [1], min_length=1)
    report: GridReport = Field(default_factory=GridReport)

    @model_validator(mode="after")
    def _consistent(self) -> GridConfig:
        names = [axis.name for axis in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"axes: two axes are called {names[0]!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds: {self.seeds} repeats a seed")
        if len(set(self.report.splits)) != len(self.report.splits):
            raise ValueError(f"report.splits: {self.report.splits} repeats a split")
        last = self.axes[-1]
        for delta, pair in self.report.deltas.items():
            unknown = [v for v in pair if v not in last.value_names()]
            if unknown:
                raise ValueError(
                    f"report.deltas.{delta}: {unknown} are not values of the last axis {last.name!r} "
                    f"({last.value_names()})"
                )
        if self.report.groups:
            if len(self.axes) != 2:
                raise ValueError("report.groups: averages of rows need a grid with two axes")
            first = self.axes[0]
            for group, members in self.report.groups.items():
                unknown = [v for v in members if v not in first.value_names()]
                if unknown or not members:
                    raise ValueError(
                        f"report.groups.{group}: {unknown or 'no values'} are not values of the first axis "
                        f"{first.name!r} ({first.value_names()})"
                    )
        return self


@dataclass
class Grid:
    """A validated grid file with its base training config read (not yet validated: overrides come first)."""

    path: Path
    config: GridConfig
    base_path: Path
    base: dict[str, Any]


def load_grid(path: str | Path) -> Grid:
    path = Path(path)
    try:
        config = GridConfig.model_validate(
            read_raw_config(path, "grid file", "a mapping (base, axes, seeds, report)")
        )
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, str(path), "grid")) from None
    base_path = Path(config.base).expanduser()
    if not base_path.is_absolute():
        base_path = path.parent / base_path
    return Grid(path, config, base_path, read_raw_config(base_path, f"base config (`base` in {path})"))


@dataclass
class PlannedRun:
    cell: tuple[str, ...]  # one value name per axis
    seed: int
    run_dir: Path
    config: dict[str, Any]  # the resolved training config, as written to config.input.yaml

    def label(self, axes: Sequence[str]) -> str:
        return " ".join(f"{a}={v}" for a, v in zip(axes, self.cell, strict=True)) + f" seed {self.seed}"


def _override(raw: dict[str, Any], settings: dict[str, Any], where: str) -> None:
    try:
        apply_overrides(raw, [f"{key}={json.dumps(value, default=str)}" for key, value in settings.items()])
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def _drop_datasets(raw: dict[str, Any], names: list[str], where: str) -> None:
    datasets = raw.get("datasets")
    if not isinstance(datasets, dict):
        raise ConfigError(f"{where}: {DROP_DATASETS} needs a base config with a `datasets:` mapping")
    for name in names:
        if name not in datasets:
            raise ConfigError(
                f"{where}: {DROP_DATASETS}: no dataset {name!r} (the config has {list(datasets)})"
            )
        del datasets[name]
    # vectors for a language no dataset is in any more would be refused by the run: they go too
    vectors = raw.get("word_vectors")
    if isinstance(vectors, dict):
        languages = {entry.get("language") for entry in datasets.values() if isinstance(entry, dict)}
        raw["word_vectors"] = {language: path for language, path in vectors.items() if language in languages}


def validate_training_config(raw: dict[str, Any], source: str) -> None:
    """Fail before anything runs when a resolved config would not load in ``babeltag train``."""
    parse_any_config(raw, source)


def plan_runs(grid: Grid, out_dir: str | Path, settings: Sequence[str] = ()) -> list[PlannedRun]:
    """Every cell x seed with its resolved training config; all errors are raised here, before any run.

    ``settings`` (``KEY=VALUE``, as ``--set`` gives them) apply to every run after the grid's own
    overrides and before the axes' values, so that a value that depends on the machine (a path to
    files made earlier) need not be written into the grid file.
    """
    config = grid.config
    base = copy.deepcopy(grid.base)
    _override(base, config.overrides, f"{grid.path}: overrides")
    apply_overrides(base, list(settings))
    report = config.report
    runs = []
    for choice in itertools.product(*(axis.settings() for axis in config.axes)):
        cell = tuple(name for name, _, _ in choice)
        where = f"{grid.path}: " + " ".join(f"{a.name}={v}" for a, v in zip(config.axes, cell, strict=True))
        raw = copy.deepcopy(base)
        for _, axis_overrides, _ in choice:
            _override(raw, axis_overrides, where)
        # dropping comes after every axis has set its keys, so a dropped dataset stays dropped
        drops = [name for _, _, names in choice for name in names]
        if drops:
            _drop_datasets(raw, drops, where)
        multi_task = isinstance(raw.get("datasets"), dict)
        if report.dataset is None and multi_task:
            raise ConfigError(f"{grid.path}: report.dataset: the base config is multi-task; name the dataset")
        if report.dataset is not None and not multi_task:
            raise ConfigError(f"{grid.path}: report.dataset: the base config has no `datasets:` mapping")
        if report.dataset is not None and report.dataset not in raw["datasets"]:
            raise ConfigError(
                f"{where}: report.dataset {report.dataset!r} is not among {list(raw['datasets'])}"
            )
        run_dir = Path(out_dir, "runs", *(f"{a.name}={v}" for a, v in zip(config.axes, cell, strict=True)))
        for seed in config.seeds:
            seeded = copy.deepcopy(raw)
            _override(seeded, {"training.seed": seed}, where)
            if seed == config.seeds[0]:
                validate_training_config(seeded, f"{where} (base {grid.base_path})")
            runs.append(PlannedRun(cell, seed, run_dir / f"seed{seed}", seeded))
    return runs


def dump_yaml(data: Any) -> str:
    """YAML as written beside runs: keys in their order, non-ASCII kept."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def run_command(config_path: Path, run_dir: Path, data_dir: str | Path | None) -> list[str]:
    command = [sys.executable, "-m", "babeltag.cli", "train", str(config_path), "--out", str(run_dir)]
    command.append("--no-progress")
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    return command


def launch_run(command: list[str], run_dir: Path) -> int:
    """Run one training process to the end, its output in run_dir/stdout.log and stderr.log."""
    with (run_dir / "stdout.log").open("w") as out, (run_dir / "stderr.log").open("w") as err:
        return subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode


def read_score(metrics: dict[str, Any], report: GridReport, split: str) -> float:
    """The reported number of one split from a run's metrics.json; KeyError says what is missing."""
    scores: Any = metrics
    where: list[str] = []
    keys = [] if report.dataset is None else ["datasets", report.dataset]
    for key in [*keys, split, report.metric]:
        if not isinstance(scores, dict) or key not in scores:
            have = sorted(scores) if isinstance(scores, dict) else scores
            raise KeyError(f"metrics.json has no {'.'.join([*where, key])} (found {have})")
        scores = scores[key]
        where.append(key)
    return float(scores)


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def run_grid(
    grid_path: str | Path,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    jobs: int = 1,
    dry_run: bool = False,
    settings: Sequence[str] = (),
) -> dict[str, Any]:
    """Run every cell x seed of a grid (skipping finished runs) and write results.json and results.md.

    ``settings`` are ``--set KEY=VALUE`` overrides for every run (see ``plan_runs``).

    ``dry_run`` writes the configs and returns ``{"dry_run": True, "runs": [...]}`` without running.
    Failed runs do not stop the others; after the table is written a BabeltagError lists them.
    """
    if jobs < 1:
        raise ConfigError(f"jobs: expected at least 1, got {jobs}")
    grid = load_grid(grid_path)
    out = Path(out_dir)
    runs = plan_runs(grid, out, settings)  # everything is checked before anything is written
    axes = [axis.name for axis in grid.config.axes]

    out.mkdir(parents=True, exist_ok=True)
    resolved = {
        "grid": str(grid.path),
        "base": str(grid.base_path),
        **grid.config.model_dump(mode="json", exclude={"base"}),
        "set": list(settings),
        "base_config": grid.base,
    }
    (out / "grid.yaml").write_text(dump_yaml(resolved), encoding="utf-8")
    todo = []
    for run in runs:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        config_path = run.run_dir / "config.input.yaml"
        text = dump_yaml(run.config)
        if (run.run_dir / "metrics.json").is_file():
            if config_path.is_file() and config_path.read_text(encoding="utf-8") != text:
                print(
                    f"grid: warning: {run.run_dir} finished with a different config; "
                    "its results are used as they are (delete the directory to run it again)",
                    file=sys.stderr,
                )
            continue
        config_path.write_text(text, encoding="utf-8")
        todo.append(run)

    if dry_run:
        pending = {str(run.run_dir) for run in todo}
        return {
            "dry_run": True,
            "out": str(out),
            "runs": [
                {
                    "cell": dict(zip(axes, run.cell, strict=True)),
                    "seed": run.seed,
                    "run_dir": str(run.run_dir),
                    "done": str(run.run_dir) not in pending,
                }
                for run in runs
            ],
        }

    headline = grid.config.report.splits[0]
    failures: list[dict[str, Any]] = []
    print(
        f"grid: {len(runs)} runs, {len(runs) - len(todo)} already finished, {len(todo)} to run ({jobs} at a time)",
        file=sys.stderr,
        flush=True,
    )

    def execute(run: PlannedRun) -> tuple[int, float]:
        started = time.perf_counter()
        command = run_command(run.run_dir / "config.input.yaml", run.run_dir, data_dir)
        return launch_run(command, run.run_dir), time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute, run): run for run in todo}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                run = futures[future]
                code, seconds = future.result()
                prefix = f"grid: [{done}/{len(todo)}] {run.label(axes)}:"
                if code != 0:
                    log = run.run_dir / "stderr.log"
                    failures.append(_failure(run, axes, f"exit code {code}: {_last_line(log)}", log))
                    print(
                        f"{prefix} FAILED (exit code {code}), see {log} ({seconds:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                    continue
                try:
                    metrics = json.loads((run.run_dir / "metrics.json").read_text(encoding="utf-8"))
                    value = read_score(metrics, grid.config.report, headline)
                    score = f"{headline} {grid.config.report.metric} {value:.2f}"
                except (OSError, ValueError, KeyError) as error:
                    score = f"no score ({error})"
                print(f"{prefix} {score} ({seconds:.1f} s)", file=sys.stderr, flush=True)
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise

    results = collect_results(grid, runs, out, failures)
    results["runs"]["ran"] = len(todo)
    write_results(results, out)
    if results["runs"]["failed"]:
        failed = results["runs"]["failed"]
        lines = [
            f"{len(failed)} of {len(runs)} runs of {grid.path} failed (the table has the rest: {out / 'results.md'}):"
        ]
        lines += [
            f"  {f['label']}: {f['error']}" + (f" (see {f['log']})" if f.get("log") else "") for f in failed
        ]
        raise BabeltagError("\n".join(lines))
    return results


def _failure(run: PlannedRun, axes: Sequence[str], error: str, log: Path | None = None) -> dict[str, Any]:
    return {
        "label": run.label(axes),
        "cell": dict(zip(axes, run.cell, strict=True)),
        "seed": run.seed,
        "run_dir": str(run.run_dir),
        "error": error,
        "log": None if log is None else str(log),
    }


def collect_results(
    grid: Grid, runs: Sequence[PlannedRun], out: Path, failures: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Read every finished run's metrics.json into mean ± std per cell and split, plus the deltas."""
    config = grid.config
    report = config.report
    axes = [axis.name for axis in config.axes]
    failed = list(failures or [])
    failed_dirs = {f["run_dir"] for f in failed}
    scores: dict[tuple[str, ...], dict[str, list[tuple[int, float]]]] = {}
    finished = 0
    for run in runs:
        per_split = scores.setdefault(run.cell, {split: [] for split in report.splits})
        path = run.run_dir / "metrics.json"
        if not path.is_file():
            if str(run.run_dir) not in failed_dirs:
                failed.append(_failure(run, axes, "no metrics.json (the run did not finish)"))
            continue
        finished += 1
        try:
            metrics = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            failed.append(_failure(run, axes, f"{path}: not valid JSON: {error}"))
            continue
        for split in report.splits:
            try:
                per_split[split].append((run.seed, read_score(metrics, report, split)))
            except KeyError as error:
                failed.append(_failure(run, axes, f"{path}: {error.args[0]}"))

    cells = []
    means: dict[tuple[str, ...], dict[str, float | None]] = {}
    for cell, per_split in scores.items():
        entry: dict[str, Any] = {"cell": dict(zip(axes, cell, strict=True))}
        for split, pairs in per_split.items():
            entry[split] = {**summarise([v for _, v in pairs]), "seeds": [s for s, _ in pairs]}
        means[cell] = {split: entry[split]["mean"] for split in report.splits}
        cells.append(entry)

    deltas = []
    rows = list(dict.fromkeys(cell[:-1] for cell in scores))  # () for a one-axis grid
    run_dirs = {(run.cell, run.seed): run.run_dir for run in runs}
    for name, (a, b) in report.deltas.items():
        values = []
        for row in rows:
            item: dict[str, Any] = {"cell": dict(zip(axes[:-1], row, strict=True))}
            for split in report.splits:
                mean_a, mean_b = means[(*row, a)][split], means[(*row, b)][split]
                item[split] = None if mean_a is None or mean_b is None else mean_a - mean_b
                tests = mcnemar_by_seed(run_dirs, (*row, a), (*row, b), config.seeds, report.dataset, split)
                item[f"{split}_mcnemar"] = tests
                item[f"{split}_mark"] = significance_mark(tests)
            values.append(item)
        deltas.append({"name": name, "a": a, "b": b, "axis": axes[-1], "values": values})

    return {
        "grid": str(grid.path),
        "base": str(grid.base_path),
        "out": str(out),
        "axes": [{"name": axis.name, "values": axis.value_names()} for axis in config.axes],
        "seeds": list(config.seeds),
        "dataset": report.dataset,
        "metric": report.metric,
        "splits": list(report.splits),
        "headline": report.splits[0],
        "cells": cells,
        "deltas": deltas,
        "groups": group_averages(config, means, deltas),
        "runs": {"planned": len(runs), "finished": finished, "failed": failed},
    }


ALL_ROWS = "all rows"


def group_averages(
    config: GridConfig, means: dict[tuple[str, ...], dict[str, float | None]], deltas: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """For each group of first-axis values (and all of them): the mean over its rows of each
    column's cell mean and of each delta, per split. None where a member cell has no finished run,
    so an average never silently covers fewer rows than it names."""
    if not config.report.groups:
        return []
    first, last = config.axes
    groups = {**config.report.groups, ALL_ROWS: first.value_names()}
    averages = []
    for name, members in groups.items():
        entry: dict[str, Any] = {"name": name, "rows": list(members)}
        for split in config.report.splits:
            columns = {}
            for column in last.value_names():
                values = [means.get((row, column), {}).get(split) for row in members]
                columns[column] = _mean_of_all(values)
            by_delta = {}
            for delta in deltas:
                per_row = {v["cell"][first.name]: v[split] for v in delta["values"]}
                by_delta[delta["name"]] = _mean_of_all([per_row.get(row) for row in members])
            entry[split] = {"columns": columns, "deltas": by_delta}
        averages.append(entry)
    return averages


def _mean_of_all(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present and len(present) == len(values) else None


def predictions_file(run_dir: Path, dataset: str | None, split: str) -> Path:
    """Where a run saved its predictions (training/run.py, training/multitask_run.py)."""
    return run_dir / "predictions" / (dataset or "") / f"{split}.jsonl"


def mcnemar_by_seed(
    run_dirs: dict[tuple[tuple[str, ...], int], Path],
    cell_a: tuple[str, ...],
    cell_b: tuple[str, ...],
    seeds: Sequence[int],
    dataset: str | None,
    split: str,
) -> list[dict[str, Any]]:
    """McNemar's test of cell a's run against cell b's run with the same seed, for every seed both
    finished with saved predictions."""
    tests = []
    for seed in seeds:
        paths = [predictions_file(run_dirs[(cell, seed)], dataset, split) for cell in (cell_a, cell_b)]
        if all(path.is_file() for path in paths):
            tests.append({"seed": seed, **mcnemar_of_files(*paths)})
    return tests


def results_markdown(results: dict[str, Any]) -> str:
    """One table per split (headline first): rows = first axis, columns = second axis, then deltas."""
    axes = results["axes"]
    rows = axes[0]["values"]
    metric = results["metric"]
    one_axis = len(axes) == 1
    columns = [metric] if one_axis else axes[1]["values"]
    corner = axes[0]["name"] if one_axis else f"{axes[0]['name']} \\ {axes[1]['name']}"
    seeds = ", ".join(str(s) for s in results["seeds"])
    what = metric if results["dataset"] is None else f"{results['dataset']} {metric}"
    lines = [
        f"# Results of {results['grid']}",
        "",
        f"{what}: mean ± sample std over seeds {seeds}; (n=k) marks cells where fewer runs finished.",
        "",
    ]
    failed = results["runs"]["failed"]
    if failed:
        lines += [
            f"**{len(failed)} of {results['runs']['planned']} runs are missing** (see results.json).",
            "",
        ]
    for split in results["splits"]:
        cells = {}
        for entry in results["cells"]:
            values = list(entry["cell"].values())
            cells[(values[0], metric if one_axis else values[1])] = entry[split]
        title = f"## {split}" + (" (headline)" if split == results["headline"] else "")
        lines += [title, ""]
        if one_axis:
            lines.append(
                markdown_table(rows, columns, cells, corner=corner, expected_n=len(results["seeds"]))
            )
            if results["deltas"]:
                body = [
                    [d["name"], format_delta(d["values"][0][split]) + d["values"][0].get(f"{split}_mark", "")]
                    for d in results["deltas"]
                ]
                lines += ["", render_markdown(["difference of means", metric], body)]
        else:
            deltas = {
                d["name"]: {next(iter(v["cell"].values())): v[split] for v in d["values"]}
                for d in results["deltas"]
            }
            marks = {
                d["name"]: {next(iter(v["cell"].values())): v.get(f"{split}_mark", "") for v in d["values"]}
                for d in results["deltas"]
            }
            lines.append(
                markdown_table(
                    rows, columns, cells, deltas, corner=corner, expected_n=len(results["seeds"]), marks=marks
                )
            )
        if results.get("groups"):
            lines += ["", group_table(results, split)]
        tested = [v for d in results["deltas"] for v in d["values"] if v.get(f"{split}_mcnemar")]
        if tested:
            lines.append(MCNEMAR_LEGEND)
        lines.append("")
    return "\n".join(lines)


def group_table(results: dict[str, Any], split: str) -> str:
    """Averages over groups of rows: mean of the cells' means (a dash where a member has no runs)."""
    columns = results["axes"][1]["values"]
    names = [d["name"] for d in results["deltas"]]
    body = []
    for group in results["groups"]:
        numbers = group[split]
        row = [f"{group['name']} ({len(group['rows'])})"]
        row += [MISSING if numbers["columns"][c] is None else f"{numbers['columns'][c]:.2f}" for c in columns]
        row += [format_delta(numbers["deltas"][n]) for n in names]
        body.append(row)
    corner = f"average over {results['axes'][0]['name']}"
    return render_markdown([corner, *columns, *names], body)


def curve_points(results: dict[str, Any]) -> dict[str, list[tuple[float, float, float]]] | None:
    """(x, mean, std) per value of the last axis when the first axis is numeric (a learning curve,
    e.g. score against labelled sentences); None when the table is not a curve."""
    axes = results["axes"]
    if len(axes) != 2:
        return None
    x_axis, line_axis = axes[0]["name"], axes[1]["name"]
    try:
        [float(value) for value in axes[0]["values"]]
    except ValueError:
        return None
    split = results["headline"]
    points: dict[str, list[tuple[float, float, float]]] = {}
    for cell in results["cells"]:
        summary = cell[split]
        if summary["mean"] is None:
            continue
        line = points.setdefault(cell["cell"][line_axis], [])
        line.append((float(cell["cell"][x_axis]), summary["mean"], summary["std"] or 0.0))
    return points or None


def report_grid(out_dir: str | Path, grid_path: str | Path | None = None) -> dict[str, Any]:
    """Rebuild results.json, results.md, results.csv and the plot of a grid's output directory from
    the runs' saved metrics, running nothing (unfinished runs are listed as such). The grid file is
    the one ``grid.yaml`` in the directory names, unless ``grid_path`` is given."""
    out = Path(out_dir)
    settings: list[str] = []
    if grid_path is None:
        resolved = out / "grid.yaml"
        if not resolved.is_file():
            raise ConfigError(f"{out}: no grid.yaml here; is it the --out directory of `babeltag run`?")
        record = read_raw_config(resolved, "grid record")
        grid_path = str(record["grid"])
        settings = list(record.get("set") or [])
    grid = load_grid(grid_path)
    results = collect_results(grid, plan_runs(grid, out, settings), out)
    write_results(results, out)
    return results


def write_results(results: dict[str, Any], out: Path) -> None:
    points = curve_points(results)
    if points is not None:
        from babeltag.evaluation.plots import learning_curve

        report = f"{results['dataset'] + ' ' if results.get('dataset') else ''}{results['headline']}"
        path = learning_curve(
            points,
            out / "learning_curve.png",
            xlabel=results["axes"][0]["name"],
            ylabel=f"{report} {results['metric']}",
            log_x=len({x for line in points.values() for x, _, _ in line}) > 2,
        )
        results["plots"] = {"learning_curve": str(path)}
    results.setdefault("files", {})["csv"] = str(write_csv(results, out / "results.csv"))
    if results["deltas"]:
        results["files"]["deltas_csv"] = str(write_deltas_csv(results, out / "deltas.csv"))
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    (out / "results.md").write_text(results_markdown(results), encoding="utf-8")


def write_deltas_csv(results: dict[str, Any], path: Path) -> Path:
    """One row per difference, row of the table and split: the difference of means, its mark and
    every seed's McNemar p-value."""
    from babeltag.evaluation.plots import results_csv

    rows = []
    for delta in results["deltas"]:
        for value in delta["values"]:
            for split in results["splits"]:
                tests = value.get(f"{split}_mcnemar", [])
                rows.append(
                    {
                        "difference": delta["name"],
                        **value["cell"],
                        "split": split,
                        "value": value[split],
                        "mark": value.get(f"{split}_mark", ""),
                        "mcnemar_p": " ".join(f"{t['p_value']:.3g}" for t in tests),
                        "mcnemar_seeds": " ".join(str(t["seed"]) for t in tests),
                    }
                )
    return results_csv(rows, path)


def write_csv(results: dict[str, Any], path: Path) -> Path:
    """One row per cell: the axis values, then mean, std, n per split (for spreadsheets and plots)."""
    from babeltag.evaluation.plots import results_csv

    rows = []
    for cell in results["cells"]:
        row: dict[str, Any] = dict(cell["cell"])
        for split in results["splits"]:
            summary = cell[split]
            row.update(
                {f"{split}_mean": summary["mean"], f"{split}_std": summary["std"], f"{split}_n": summary["n"]}
            )
        rows.append(row)
    return results_csv(rows, path)
