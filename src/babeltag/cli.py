"""Command line: thin commands over the library. No logic lives here."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence

from babeltag.errors import BabeltagError


def _cmd_train(args: argparse.Namespace) -> int:
    from babeltag.config import MultiTaskConfig, load_any_config
    from babeltag.training.multitask_run import train_multitask
    from babeltag.training.run import train

    overrides = list(args.set) + ([f"training.device={args.device}"] if args.device else [])
    config = load_any_config(args.config, overrides)  # validated before any data is read
    progress = False if args.no_progress else None
    if isinstance(config, MultiTaskConfig):
        summary = train_multitask(config, args.out, data_dir=args.data_dir, progress=progress)
    else:
        summary = train(config, args.out, data_dir=args.data_dir, progress=progress)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one summary: rank 0's
        print(json.dumps(summary))
    return 0


def _cmd_pretrain(args: argparse.Namespace) -> int:
    from babeltag.config import load_pretrain_config
    from babeltag.training.pretrain import pretrain

    overrides = list(args.set) + ([f"training.device={args.device}"] if args.device else [])
    config = load_pretrain_config(args.config, overrides)  # validated before any text is read
    perplexity = pretrain(config, args.out, progress=False if args.no_progress else None)
    print(json.dumps({"out": args.out, "heldout_perplexity": perplexity}))
    return 0


def _cmd_encoder(args: argparse.Namespace) -> int:
    from babeltag.evaluation import subword_analyses

    if args.action == "matrix":
        from babeltag.sources.transfer import load_transfer

        baseline = load_transfer(args.baseline) if args.baseline else None
        print(subword_analyses.zero_shot_table(load_transfer(args.result), baseline))
        return 0
    accuracy = subword_analyses.retrieval_command(
        args.encoder, args.data_dir, args.languages, args.out, args.pivot
    )
    print(
        json.dumps(
            {
                "out": args.out,
                "best_layer": {x: max(range(len(v)), key=v.__getitem__) for x, v in accuracy.items()},
            }
        )
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from babeltag.training.demo import run_demo

    result = run_demo(args.out, seed=args.seed, quick=args.quick)
    print(json.dumps(result))
    return 0


def _cmd_embeddings(args: argparse.Namespace) -> int:
    from babeltag.embeddings import commands
    from babeltag.embeddings.align import AdversarialSettings

    result: dict[str, object]
    if args.action == "train":
        result = commands.train_command(
            args.inputs,
            args.out,
            args.format,
            args.dim,
            args.method,
            args.epochs,
            args.min_count,
            args.window,
            args.seed,
            args.token_column,
        )
    elif args.action == "split":
        result = commands.split_command(
            args.dictionary, args.train_out, args.test_out, args.test_size, args.seed
        )
    elif args.action == "align":
        result = commands.align_command(
            args.source,
            args.target,
            args.out,
            args.target_out,
            args.method,
            args.dictionary,
            args.refine,
            args.normalise.split(",") if args.normalise else (),
            args.max_words,
            args.transliterate,
            args.seed,
            AdversarialSettings(
                hidden=tuple(int(h) for h in args.adversarial_hidden.split(",")),
                most_frequent=args.adversarial_most_frequent,
                epochs=args.adversarial_epochs,
                epoch_size=args.adversarial_epoch_size,
                device=args.device,
            ),
        )
    else:
        result = commands.evaluate_command(args.source, args.target, args.dictionary, args.max_words)
    print(json.dumps(result))
    return 0


def _cmd_data_download(args: argparse.Namespace) -> int:
    from babeltag.data.download import download, resolve

    dataset = resolve(args.kind, treebank=args.treebank, version=args.version, lang=args.lang)
    result = download(
        dataset, cache_dir=args.cache_dir, base_url=args.mirror, progress=False if args.no_progress else None
    )
    print(result.report())
    return 0 if result.ready else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from babeltag.evaluation.run_report import report_run
    from babeltag.training.demo import is_demo_dir, report_demo
    from babeltag.training.grid import report_grid

    if args.grid is None and is_demo_dir(args.out_dir):
        results = report_demo(args.out_dir)
        print(json.dumps({key: results[key] for key in ("gains", "marks", "files", "plots")}))
        return 0
    if args.grid is None and not (Path(args.out_dir) / "grid.yaml").is_file():  # one run, not a grid
        print(json.dumps(report_run(args.out_dir, args.tsne_datasets, args.tsne_words)))
        return 0
    result = report_grid(args.out_dir, args.grid)
    print(json.dumps(result))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from babeltag.training.grid import run_grid

    result = run_grid(
        args.grid, args.out, data_dir=args.data_dir, jobs=args.jobs, dry_run=args.dry_run, settings=args.set
    )
    print(json.dumps(result))
    return 0


def _parse_texts(pairs: Sequence[str]) -> dict[str, str]:
    texts = {}
    for pair in pairs:
        language, sep, path = pair.partition("=")
        if not sep or not language or not path:
            raise BabeltagError(f"--text {pair!r}: expected LANG=FILE")
        texts[language] = path
    return texts


def _cmd_sources(args: argparse.Namespace) -> int:
    from pathlib import Path

    from babeltag.sources import commands

    result: dict[str, object]
    if args.action == "transfer":
        result = commands.transfer_command(args.spec, args.out, args.data_dir, args.jobs)
    elif args.action == "evaluate":
        result = commands.evaluate_command(args.ground_truth, args.out)
    elif args.action == "rank":
        candidates = [c.strip() for c in args.candidates.split(",") if c.strip()]
        result = commands.rank_command(
            args.target, args.task, candidates, args.data_dir, args.ground_truth, _parse_texts(args.text)
        )
    else:
        from babeltag.sources.analyse import analyse_ground_truth, gates_vs_genetic_distance

        analyses = [
            analyse_ground_truth(commands.load_ground_truth(where), Path(args.out)) for where in args.run_dirs
        ]
        gate_analyses = []
        for i, gates_file in enumerate(args.gates):
            gates = json.loads(Path(gates_file).read_text(encoding="utf-8"))
            name = f"gates_vs_genetic_distance{'' if i == 0 else i + 1}.png"
            gate_analyses.append(gates_vs_genetic_distance(gates, Path(args.out) / name))
        result = {"analyses": analyses, "gates": gate_analyses}
    print(json.dumps(result))
    return 0


def _cmd_gates(args: argparse.Namespace) -> int:
    from babeltag.evaluation.gates import gates_command

    texts = _parse_texts(args.text)
    if not texts:
        raise BabeltagError("--text: give at least one LANG=FILE")
    result = gates_command(args.model, dict(texts), args.out, args.dataset, args.max_sentences)
    print(json.dumps(result))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from babeltag.evaluation.evaluate import evaluate_model

    result = evaluate_model(args.model, args.data, batch_size=args.batch_size, dataset=args.dataset)
    report = result.pop("report", None)
    if report:
        print(report, file=sys.stderr)
    print(json.dumps(result))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from babeltag.evaluation.evaluate import compare_models

    result = compare_models(
        args.model_a, args.model_b, args.data, batch_size=args.batch_size, dataset=args.dataset
    )
    test = result["mcnemar"]
    print(
        f"A {result['a']['score']:.2f}  B {result['b']['score']:.2f}  "
        f"A right/B wrong {test['b']}, A wrong/B right {test['c']}: McNemar p = {test['p_value']:.4g} "
        f"({test['method']})",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from babeltag.models.predict import predict_file

    predict_file(
        args.model,
        args.input,
        args.format,
        args.output,
        batch_size=args.batch_size,
        dataset=args.dataset,
        chunk_size=args.chunk_size,
        device=args.device,
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from babeltag.serve import load_models, model_paths, serve

    models = load_models(model_paths(args.models), args.device)  # names checked before any model is loaded
    serve(
        models,
        host=args.host,
        port=args.port,
        threads=args.threads,
        access_log=not args.no_access_log,
        max_body_bytes=args.max_body_bytes,
        max_texts=args.max_texts,
        max_tokens_per_text=args.max_tokens_per_text,
        batch_window_ms=args.batch_window_ms,
        max_batch_sentences=args.max_batch_sentences,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="babeltag", description="Cross-lingual and multi-task sequence labelling and classification."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser(
        "train",
        help="train a model from a YAML config (one dataset under data:, or several under datasets:); "
        "running it again on the same --out resumes a stopped run from its checkpoint; "
        "under torchrun, trains data-parallel",
    )
    p.add_argument("config", help="YAML configuration file")
    p.add_argument("--out", required=True, help="run directory (model/, metrics.json, train_log.jsonl)")
    p.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (overrides training.device)")
    p.add_argument(
        "--data-dir", default=None, help="directory that relative data paths in the config are read from"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set training.epochs=3 (repeatable)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_train)

    p = commands.add_parser(
        "pretrain",
        help="pretrain a multilingual subword transformer (masked LM, translation LM); "
        "running it again on the same --out resumes from the last checkpoint",
    )
    p.add_argument(
        "config", help="YAML pretraining configuration (text, subwords, encoder, mlm, tlm, training)"
    )
    p.add_argument(
        "--out", required=True, help="output folder (encoder.safetensors, subwords.json, log.jsonl, ...)"
    )
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (overrides training.device)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value (repeatable)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=_cmd_pretrain)

    p = commands.add_parser("encoder", help="probe a pretrained subword encoder")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser(
        "retrieval", help="per-layer nearest-neighbour translation retrieval on PUD (Pires et al. 2019)"
    )
    a.add_argument("encoder", help="a `babeltag pretrain` output folder")
    a.add_argument("--data-dir", required=True, help="the folder holding ud-pud/")
    a.add_argument("--languages", nargs="*", default=None, help="PUD languages (default: all)")
    a.add_argument("--pivot", default="en", help="the language whose sentences are looked up (default en)")
    a.add_argument("--out", required=True, help="output folder (retrieval.json, retrieval_by_layer.png)")
    a = actions.add_parser(
        "matrix", help="a zero-shot transfer matrix (babeltag sources transfer) as a markdown table"
    )
    a.add_argument("result", help="transfer.json, or the folder holding it")
    a.add_argument("--baseline", default=None, help="a second transfer.json: show each cell's gain over it")
    p.set_defaults(run=_cmd_encoder)

    p = commands.add_parser(
        "demo",
        help="offline demo: cross-lingual transfer between SYNTHETIC related languages, a results table "
        "and a learning-curve plot (about 3 minutes on 2 CPU cores)",
    )
    p.add_argument(
        "--out", required=True, help="output directory (data/, runs/, results.md, learning_curve.png)"
    )
    p.add_argument("--quick", action="store_true", help="fewer, smaller runs (about 30 seconds)")
    p.add_argument("--seed", type=int, default=1, help="seed of the synthetic languages, samples and models")
    p.set_defaults(run=_cmd_demo)

    p = commands.add_parser("embeddings", help="train, align and evaluate cross-lingual word embeddings")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("train", help="train vectors on text (gensim skip-gram or fastText) -> .vec")
    a.add_argument(
        "inputs",
        nargs="+",
        help="text files (one sentence per line) or corpora in --format; FORMAT:PATH gives one file's format",
    )
    a.add_argument("--out", required=True, help=".vec file to write")
    a.add_argument("--format", choices=["text", "conllu", "conll"], default="text")
    a.add_argument("--token-column", type=int, default=None, help="conll: the token column")
    a.add_argument("--dim", type=int, default=100)
    a.add_argument("--method", choices=["skipgram", "fasttext"], default="skipgram")
    a.add_argument("--epochs", type=int, default=5)
    a.add_argument("--min-count", type=int, default=1)
    a.add_argument("--window", type=int, default=5)
    a.add_argument("--seed", type=int, default=1)
    a = actions.add_parser("split", help="split a bilingual dictionary into disjoint train/test source words")
    a.add_argument("dictionary", help="'src tgt' per line (MUSE format)")
    a.add_argument("--train-out", required=True)
    a.add_argument("--test-out", required=True)
    a.add_argument("--test-size", type=int, default=1500, help="source words in the test part")
    a.add_argument("--seed", type=int, default=1)
    a = actions.add_parser("align", help="map a source space into a target space")
    a.add_argument("source", help="source .vec (or word2vec .bin)")
    a.add_argument("target", help="target .vec")
    a.add_argument("--out", required=True, help="the mapped source vectors (.vec)")
    a.add_argument("--target-out", default=None, help="the target vectors, normalised the same way (.vec)")
    a.add_argument("--method", choices=["identical", "dictionary", "adversarial"], default="identical")
    a.add_argument("--dictionary", default=None, help="seed dictionary for --method dictionary")
    a.add_argument("--refine", type=int, default=5, help="Procrustes + CSLS refinement rounds")
    a.add_argument("--normalise", default="unit,center,unit", help="steps: unit, center, unitdim ('' = none)")
    a.add_argument("--max-words", type=int, default=None, help="read only the first N words of each file")
    a.add_argument(
        "--transliterate", default=None, help="transliterate the source first, e.g. cyrillic-latin"
    )
    a.add_argument("--seed", type=int, default=1)
    defaults = "MUSE's default, sized for 300-d fastText vectors on a GPU"
    a.add_argument("--adversarial-hidden", default="2048,2048", help=f"discriminator layers ({defaults})")
    a.add_argument("--adversarial-most-frequent", type=int, default=75000, help="words that take part")
    a.add_argument("--adversarial-epochs", type=int, default=5)
    a.add_argument("--adversarial-epoch-size", type=int, default=1_000_000, help="words per epoch")
    a.add_argument("--device", default="cpu", help="adversarial training device (cpu, cuda)")
    a = actions.add_parser(
        "evaluate", help="bilingual lexicon induction P@1/5/10 (nearest neighbour and CSLS)"
    )
    a.add_argument("source", help="mapped source .vec")
    a.add_argument("target", help="target .vec (normalised like the source)")
    a.add_argument("--dictionary", required=True, help="test pairs 'src tgt' per line")
    a.add_argument("--max-words", type=int, default=None)
    p.set_defaults(run=_cmd_embeddings)

    p = commands.add_parser("sources", help="which source languages to transfer from: rank, measure, analyse")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser(
        "rank", help="rank candidate source languages for a target, with every signal and a combined score"
    )
    a.add_argument("--target", required=True, help="target language code, e.g. nl")
    a.add_argument("--task", required=True, choices=["pos", "ner", "cls"])
    a.add_argument("--candidates", required=True, help="comma-separated source codes, e.g. en,de,sv")
    a.add_argument("--data-dir", default=None, help="../shared/data layout: adds the data-overlap signals")
    a.add_argument(
        "--text",
        action="append",
        default=[],
        metavar="LANG=FILE",
        help="a language's own corpus (repeatable)",
    )
    a.add_argument(
        "--ground-truth", default=None, help="ground_truth.json or its directory (default: shipped)"
    )
    a = actions.add_parser(
        "transfer",
        help="ground truth: train one model per language, score it on every other, compute signals",
    )
    a.add_argument("spec", help="transfer spec YAML (e.g. configs/sources/pos_ud.yaml)")
    a.add_argument("--out", required=True)
    a.add_argument("--data-dir", default=None)
    a.add_argument("--jobs", type=int, default=1)
    a = actions.add_parser(
        "evaluate", help="NDCG@3 and Spearman of the ranker, each signal and baselines, leave-one-target-out"
    )
    a.add_argument("ground_truth", nargs="+", help="ground_truth.json files or their directories")
    a.add_argument("--out", default=None, help="directory for ranking.md and ranking.json")
    a = actions.add_parser("analyse", help="plots: transfer matrix, score against each signal, word order")
    a.add_argument("run_dirs", nargs="*", help="directories of `babeltag sources transfer` (or their JSON)")
    a.add_argument(
        "--gates",
        action="append",
        default=[],
        help="gates.json of `babeltag gates`: weight vs genetic distance",
    )
    a.add_argument("--out", required=True, help="directory for the PNG files")
    p.set_defaults(run=_cmd_sources)

    p = commands.add_parser(
        "gates", help="mixture-of-experts models: average expert gate weights per language, with heatmaps"
    )
    p.add_argument("model", help="model directory (run_dir/model) of a sharing.experts model")
    p.add_argument("--text", action="append", default=[], metavar="LANG=FILE", help="repeatable")
    p.add_argument("--out", required=True, help="directory for gates.json and the heatmaps")
    p.add_argument(
        "--dataset", default=None, help="which dataset's model reads the text (default: first target)"
    )
    p.add_argument("--max-sentences", type=int, default=None)
    p.set_defaults(run=_cmd_gates)

    p = commands.add_parser("data", help="get corpora: official sources into a local cache")
    data_actions = p.add_subparsers(dest="action", required=True)
    d = data_actions.add_parser(
        "download",
        help="download and verify a corpus into the cache, laid out like ../shared/data (use it as --data-dir)",
    )
    d.add_argument("kind", choices=["ud", "conll2002", "conll2003", "wikiann"])
    d.add_argument("--treebank", default=None, help="ud: e.g. UD_Dutch-Alpino")
    d.add_argument("--version", default=None, help="ud: release, e.g. 2.13")
    d.add_argument("--lang", default=None, help="conll2002: es or nl; conll2003: en or de; wikiann: a code")
    d.add_argument("--cache-dir", default=None, help="default: $BABELTAG_CACHE or the user cache directory")
    d.add_argument("--mirror", default=None, help="fetch from this base URL instead of the original hosts")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(run=_cmd_data_download)

    p = commands.add_parser(
        "run", help="run an experiment grid (configs x seeds) and write its results table (markdown + JSON)"
    )
    p.add_argument("grid", help="grid YAML file (base config, axes, seeds, report)")
    p.add_argument("--out", required=True, help="directory for the runs, results.md and results.json")
    p.add_argument(
        "--data-dir", default=None, help="directory that relative data paths in the configs are read from"
    )
    p.add_argument(
        "--jobs", type=int, default=1, help="runs at once (each uses training.threads CPU threads)"
    )
    p.add_argument("--dry-run", action="store_true", help="write the resolved configs, run nothing")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a value of every run's config, before the axes' values (repeatable)",
    )
    p.set_defaults(run=_cmd_run)

    p = commands.add_parser(
        "report",
        help="rebuild a grid's results table, CSV and plot from its finished runs, or one run's scores "
        "tables, training curve and character t-SNE into RUN_DIR/report (runs nothing)",
    )
    p.add_argument("out_dir", help="the --out directory of `babeltag run` or of `babeltag train`")
    p.add_argument(
        "--grid", default=None, help="grid file (default: the one the directory's grid.yaml names)"
    )
    p.add_argument(
        "--tsne-datasets",
        nargs="+",
        default=None,
        metavar="DATASET",
        help="one run of a multi-dataset model: the datasets whose words the t-SNE maps (default: one per language)",
    )
    p.add_argument("--tsne-words", type=int, default=150, help="one run: words per language in the t-SNE")
    p.set_defaults(run=_cmd_report)

    p = commands.add_parser("evaluate", help="score a saved model on a labelled file")
    p.add_argument("model", help="model directory (run_dir/model)")
    p.add_argument("data", help="labelled file in the format the model was trained on")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument(
        "--dataset",
        default=None,
        help="multi-dataset model: which dataset's model (default: the first target)",
    )
    p.set_defaults(run=_cmd_evaluate)

    p = commands.add_parser("compare", help="two models on one labelled file, with McNemar's test")
    p.add_argument("model_a")
    p.add_argument("model_b")
    p.add_argument("data", help="labelled file in the format the models were trained on")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument(
        "--dataset",
        default=None,
        help="multi-dataset model: which dataset's model (default: the first target)",
    )
    p.set_defaults(run=_cmd_compare)

    p = commands.add_parser("predict", help="label a file, writing the same format back")
    p.add_argument("model", help="model directory (run_dir/model)")
    p.add_argument("input", help="input file ('-' for standard input)")
    p.add_argument("--format", choices=["conllu", "conll", "text"], default="text")
    p.add_argument("--output", default="-", help="output file ('-' for standard output)")
    p.add_argument(
        "--chunk-size", type=int, default=5000, help="sentences read, labelled and written at a time"
    )
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument(
        "--dataset",
        default=None,
        help="multi-dataset model: which dataset's model (default: the first target)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (a GPU when there is one)")
    p.set_defaults(run=_cmd_predict)

    p = commands.add_parser(
        "serve", help="serve models over HTTP (JSON), micro-batching concurrent requests; see docs/api.md"
    )
    p.add_argument(
        "models",
        nargs="+",
        metavar="MODEL",
        help="model directory (served under its run folder's name: runs/ner/model as ner) or NAME=PATH",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--max-texts", type=int, default=256, help="texts (sentences) per request")
    p.add_argument("--max-tokens-per-text", type=int, default=512)
    p.add_argument("--max-body-bytes", type=int, default=1_048_576)
    p.add_argument(
        "--batch-window-ms",
        type=float,
        default=5.0,
        help="how long a request may wait for others to share its model call",
    )
    p.add_argument("--max-batch-sentences", type=int, default=512, help="sentences in one model call")
    p.add_argument("--threads", type=int, default=None, help="torch threads per call (default: torch's)")
    p.add_argument("--no-access-log", action="store_true", help="do not log every request")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (a GPU when there is one)")
    p.set_defaults(run=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except BabeltagError as error:
        if args.debug:
            traceback.print_exc()
        print(f"babeltag: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("babeltag: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
