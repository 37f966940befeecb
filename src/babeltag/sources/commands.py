"""``babeltag sources``: build the ground truth, judge the rankers on it, rank sources for a new target.

The ground truth of a task is one file, ``ground_truth.json``: the transfer matrix of
:mod:`babeltag.sources.transfer`, the signals of every pair, and the spec that says where each
language's data lives. babeltag ships the ground truth it measured on ../shared/data
(``babeltag/sources/ground_truth/<task>.json``); ``--ground-truth DIR`` uses another.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from babeltag.data.datasets import check_tags, read_file
from babeltag.errors import BabeltagError, ConfigError, DataError
from babeltag.evaluation.tables import render_markdown
from babeltag.sources.overlap import CorpusProfile, profile_corpus
from babeltag.sources.ranker import (
    SOURCE_PRIOR,
    PairwiseRanker,
    RankingEvaluation,
    Scores,
    Signals,
    evaluate_always,
    evaluate_leave_one_target_out,
    evaluate_random,
    evaluate_single_signal,
    order_from_scores,
    with_source_prior,
    without_target,
)
from babeltag.sources.signals import (
    SIGNALS,
    pair_signals,
    profiles_from_spec,
    signals_from_json,
    signals_to_json,
)
from babeltag.sources.transfer import TransferSpec, load_spec, run_transfer
from babeltag.sources.typology import knows

GROUND_TRUTH = "ground_truth.json"


# --- ground truth ----------------------------------------------------------------------------------


def transfer_command(
    spec_path: str | Path, out_dir: str | Path, data_dir: str | Path | None, jobs: int
) -> dict[str, Any]:
    """Train and score every source (resumable), compute every pair's signals, write ground_truth.json."""
    spec = load_spec(spec_path)
    result = run_transfer(spec_path, out_dir, data_dir=data_dir, jobs=jobs)
    print("sources: computing signals", file=sys.stderr, flush=True)
    profiles = profiles_from_spec(spec, data_dir)
    languages, sources = list(spec.languages), spec.source_languages()
    table = pair_signals(sources, languages, profiles)
    truth = {**result, "spec_config": spec.model_dump(mode="json"), "signals": signals_to_json(table)}
    path = Path(out_dir) / GROUND_TRUTH
    path.write_text(json.dumps(truth, indent=1), encoding="utf-8")
    best = {
        target: max((s for s in sources if s != target), key=lambda s: result["scores"][s][target])
        for target in languages
        if any(s != target for s in sources)
    }
    return {"ground_truth": str(path), "task": spec.task, "metric": spec.metric, "best_source": best}


def load_ground_truth(where: str | Path | None, task: str | None = None) -> dict[str, Any]:
    """A ground_truth.json (or a directory holding one); None: the one babeltag ships for ``task``."""
    if where is None:
        if task is None:
            raise ConfigError("give a task or a ground truth file")
        resource = resources.files("babeltag.sources") / "ground_truth" / f"{task}.json"
        if not resource.is_file():
            raise ConfigError(f"babeltag ships no ground truth for task {task!r}; give --ground-truth")
        text, name = resource.read_text(encoding="utf-8"), f"babeltag/sources/ground_truth/{task}.json"
    else:
        path = Path(where)
        if path.is_dir():
            path = path / GROUND_TRUTH
        try:
            text, name = path.read_text(encoding="utf-8"), str(path)
        except OSError as error:
            raise BabeltagError(f"{path}: cannot read the ground truth ({error})") from None
    try:
        truth: dict[str, Any] = json.loads(text)
    except ValueError as error:
        raise BabeltagError(f"{name}: not JSON ({error})") from None
    for key in ("task", "metric", "scores", "signals", "spec_config"):
        if key not in truth:
            raise BabeltagError(f"{name}: not a ground truth of `babeltag sources transfer` (no {key!r})")
    if task is not None and truth["task"] != task:
        raise ConfigError(f"{name} is the ground truth of task {truth['task']!r}, not {task!r}")
    truth["name"] = name
    return truth


def available_signals(table: Signals, pairs: Sequence[tuple[str, str]] | None = None) -> list[str]:
    """The signals every pair (of ``pairs``, default all) has a value for, in :data:`SIGNALS` order."""
    rows = [table[p] for p in pairs] if pairs is not None else list(table.values())
    return [name for name in SIGNALS if rows and all(row.get(name) is not None for row in rows)]


# --- judging the rankers ---------------------------------------------------------------------------


def evaluate_rankers(scores: Scores, table: Signals) -> list[RankingEvaluation]:
    """Every method on the same targets, leave-one-target-out where anything is fitted."""
    names = available_signals(table)
    typology = [n for n in names if not SIGNALS[n].needs_data]
    data = [n for n in names if SIGNALS[n].needs_data]
    evaluations = [evaluate_leave_one_target_out(table, scores, [*names, SOURCE_PRIOR])]
    evaluations[-1].method = "ranker: all signals + source prior"
    evaluations.append(evaluate_leave_one_target_out(table, scores, names))
    evaluations[-1].method = "ranker: all signals"
    evaluations.append(evaluate_leave_one_target_out(table, scores, [SOURCE_PRIOR]))
    evaluations[-1].method = "source prior alone"
    for label, subset in (("ranker: typology only", typology), ("ranker: data only", data)):
        if subset:
            evaluations.append(evaluate_leave_one_target_out(table, scores, subset))
            evaluations[-1].method = label
    for name in names:
        evaluations.append(evaluate_single_signal(table, scores, name, SIGNALS[name].higher_is_better))
    evaluations.append(evaluate_always(scores, "en"))
    evaluations.append(evaluate_random(scores))
    return evaluations


def evaluate_command(ground_truths: Sequence[str | Path], out: str | Path | None) -> dict[str, Any]:
    """NDCG@3 and Spearman of every ranker, signal and baseline on each ground truth; ranking.md/json."""
    results: dict[str, Any] = {}
    lines = []
    for where in ground_truths:
        truth = load_ground_truth(where)
        table = signals_from_json(truth["signals"], truth["name"])
        evaluations = evaluate_rankers(truth["scores"], table)
        task = truth["task"]
        results[task] = {e.method: {"ndcg_at_3": e.ndcg_at_3, "spearman": e.spearman} for e in evaluations}
        results[task + "_per_target"] = {e.method: e.per_target for e in evaluations[:1]}
        targets = len(evaluations[0].per_target)
        lines += [
            f"## {task}: {targets} targets, {truth['metric']} (leave-one-target-out)",
            "",
            render_markdown(
                ["method", "NDCG@3", "Spearman"],
                [[e.method, f"{e.ndcg_at_3:.3f}", f"{e.spearman:.3f}"] for e in evaluations],
            ),
            "",
        ]
    markdown = "\n".join(lines)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "ranking.md").write_text(markdown, encoding="utf-8")
        (out / "ranking.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(markdown, file=sys.stderr)
    return {task: value for task, value in results.items() if not task.endswith("_per_target")}


# --- ranking sources for a target ------------------------------------------------------------------


def read_text_profile(spec: TransferSpec, language: str, path: str | Path) -> CorpusProfile:
    """A user's own corpus of ``language``, read the way the task's data is read."""
    reader = spec.reader(next(iter(spec.languages))).model_copy(update={"language": language})
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, f"text of {language} not found")
    examples = read_file(reader, path)
    check_tags(examples, reader.tag_scheme, reader.repair_tags, path)
    return profile_corpus(examples, language, reader.tag_scheme)


def rank_command(
    target: str,
    task: str,
    candidates: Sequence[str],
    data_dir: str | Path | None = None,
    ground_truth: str | Path | None = None,
    texts: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Rank ``candidates`` as sources for ``target`` with a ranker fitted on the ground truth's other
    targets (never on ``target``'s own results), using every signal available for all candidates."""
    candidates = [c for c in dict.fromkeys(candidates) if c != target]
    if not candidates:
        raise ConfigError("--candidates: give at least one source language other than the target")
    truth = load_ground_truth(ground_truth, task)
    spec = TransferSpec.model_validate(truth["spec_config"])
    profiles: dict[str, CorpusProfile] = {}
    wanted = [target, *candidates]
    if data_dir is not None:
        known = [language for language in wanted if language in spec.languages]
        profiles.update(profiles_from_spec(spec, data_dir, known))
    for language, path in (texts or {}).items():
        profiles[language] = read_text_profile(spec, language, path)
    query = pair_signals(candidates, [target], profiles)
    names = available_signals(query)
    if not names:
        bare = [c for c in [target, *candidates] if not knows(c) and c not in profiles]
        raise ConfigError(
            f"no signal is known for every candidate: URIEL has no entry for {bare} and there is no text "
            "for them; give --data-dir (languages of the ground truth) or --text LANG=FILE"
        )
    truth_table = signals_from_json(truth["signals"], truth["name"])
    names = [n for n in names if n in available_signals(truth_table)]
    scores: Scores = without_target(truth["scores"], target)  # the target's own results are never seen
    targets = [t for t in spec.languages if t != target]
    # how good each candidate has been for the ground truth's other targets (None for a new one)
    truth_table, query = with_source_prior(truth_table, scores), with_source_prior(query, scores)
    ranker = PairwiseRanker(signal_names=[*names, SOURCE_PRIOR]).fit(truth_table, scores, targets)
    predicted = ranker.score(query, target, candidates)
    order = order_from_scores(predicted)
    observed = {s: truth["scores"].get(s, {}).get(target) for s in order}
    rows = [
        {"rank": i + 1, "source": s, "score": predicted[s], **query[(s, target)], "measured": observed[s]}
        for i, s in enumerate(order)
    ]
    shown = [*names, SOURCE_PRIOR]
    header = ["rank", "source", "score", *shown, f"measured {truth['metric']}"]
    body = [
        [
            str(r["rank"]),
            r["source"],
            f"{r['score']:.2f}",
            *("–" if r[n] is None else f"{r[n]:.3f}" for n in shown),
            _fmt(r["measured"]),
        ]
        for r in rows
    ]
    print(render_markdown(header, body), file=sys.stderr)
    missing = [n for n in SIGNALS if n not in names]
    return {
        "target": target,
        "task": task,
        "ranking": order,
        "rows": rows,
        "signals_used": shown,
        "signals_missing": missing,
        "weights": dict(zip(ranker.signal_names, [float(w) for w in ranker.weights], strict=True))
        if ranker.weights is not None
        else {},
        "fitted_on": targets,
        "ground_truth": truth["name"],
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
