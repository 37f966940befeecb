#!/usr/bin/env python
"""Training and tagging speed of the Kim et al. (2017) baseline tagger on UD English EWT (CPU).

Trains ``configs/kim2017_baseline_en_ewt.yaml`` for one epoch over the full training split (no dev
evaluation inside the timed region) and tags the test split, timing the best of several passes,
and reports peak resident memory. With ``--peer-python`` the flair peer script
(``../shared/peers/flair_speed.py``) runs in the same invocation, afterwards, so the ratio compares
like with like on the same machine state.

    python benchmarks/speed.py --data-dir ../shared/data [--peer-python .venv-flair/bin/python]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--config", default=str(ROOT / "configs" / "kim2017_baseline_en_ewt.yaml"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--infer-batch-sizes", default="256,1024,4096")
    parser.add_argument("--infer-repeats", type=int, default=3)
    parser.add_argument("--max-train-batches", type=int, default=0, help="0 = the whole epoch")
    parser.add_argument("--peer-python", default=None, help="python of a venv with flair 0.15.1 installed")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    from babeltag.config import load_config
    from babeltag.data.batching import TensorDataset, bucketed_batches, iterate_batches
    from babeltag.data.datasets import build_vocabularies, normaliser_of, read_split
    from babeltag.models.build import build_model
    from babeltag.training.log import RunLog
    from babeltag.training.trainer import Trainer

    config = load_config(args.config)
    start = time.perf_counter()
    train = read_split(config.data, "train", args.data_dir)
    test = read_split(config.data, "test", args.data_dir)
    vocabularies = build_vocabularies(train, config)
    normaliser = normaliser_of(config)
    train_data = TensorDataset(train, vocabularies, normaliser, "token")
    read_seconds = time.perf_counter() - start

    torch.manual_seed(config.training.seed)
    model = build_model(config, vocabularies)
    trainer = Trainer(model, config.training, RunLog(None, stream=sys.stderr), progress=False)
    if args.max_train_batches:
        lengths = train_data.lengths
        keep = [
            i
            for b in bucketed_batches(lengths, 32, np.random.default_rng(0))[: args.max_train_batches]
            for i in b
        ]
        train_data = TensorDataset([train[i] for i in keep], vocabularies, normaliser, "token")
    stats = trainer.train_epoch(train_data, epoch=1)

    model.eval()
    test_data = TensorDataset(test, vocabularies, normaliser, None)
    tokens = int(test_data.lengths.sum())
    infer: dict[str, float] = {}
    correct = 0
    for batch_size in (int(b) for b in args.infer_batch_sizes.split(",")):
        times = []
        for _ in range(args.infer_repeats):
            t0 = time.perf_counter()
            # featurising raw sentences is part of tagging, so it is inside the timed region
            data = TensorDataset(test, vocabularies, normaliser, None)
            predictions = {}
            for batch in iterate_batches(data, batch_size):
                predicted = model.predict(batch)
                for row, index in enumerate(batch.indices):
                    predictions[index] = predicted[row]
            times.append(time.perf_counter() - t0)
        infer[str(batch_size)] = tokens / min(times)
        labels = vocabularies.labels
        correct = sum(
            int(labels.itos[int(p)] == g)
            for i, example in enumerate(test)
            for p, g in zip(predictions[i][: len(example)], example.labels or [], strict=True)
        )
    best_batch = max(infer, key=lambda k: infer[k])
    result = {
        "system": "babeltag",
        "train_sent_per_s": round(stats["sentences_per_s"], 1),
        "infer_tok_per_s": round(infer[best_batch], 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "infer_tok_per_s_by_batch": {k: round(v, 1) for k, v in infer.items()},
        "train_sentences": stats["sentences"],
        "train_seconds": round(stats["seconds"], 2),
        "test_upos_acc_1epoch": round(correct / tokens, 4),
        "read_and_featurise_seconds": round(read_seconds, 2),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    if args.peer_python:
        peer_script = ROOT.parent / "shared" / "peers" / "flair_speed.py"
        completed = subprocess.run(
            [args.peer_python, str(peer_script), "--data-dir", str(Path(args.data_dir) / "ud" / "en")],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        peer = json.loads(completed.stdout.strip().splitlines()[-1])
        result["flair"] = {
            k: peer[k] for k in ("train_sent_per_s", "infer_tok_per_s", "peak_rss_mb", "version")
        }
        result["train_speedup_vs_flair"] = round(result["train_sent_per_s"] / peer["train_sent_per_s"], 2)
        result["infer_speedup_vs_flair"] = round(result["infer_tok_per_s"] / peer["infer_tok_per_s"], 2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
