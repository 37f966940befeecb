"""Time of one training update of a tagger whose word table is large, updated densely or sparsely.

    python benchmarks/sparse_embeddings.py [--vocab 200000 --dim 300 --B 32 --T 25 --iters 30 --threads 1]

The model is the word-level part of a tagger: word embedding (``--vocab`` x ``--dim``, the size of a
table initialised from a 200k-word ``.vec``) -> BiLSTM (100 per direction) -> linear -> softmax
loss. Word ids are drawn from a Zipf distribution, like the words of real text. One update is what
the trainer does: zero the gradients, forward, backward, clip the gradient norm at 5, step Adam.

* dense: ``word_embedding.update: dense`` (the default): nn.Embedding with a dense gradient,
  torch's fused Adam over every parameter.
* sparse: ``word_embedding.update: sparse``: a sparse gradient of the batch's rows, the rows
  updated by ``sparse_rows.LazyRows`` and the rest by fused Adam (``SplitOptimizer``).

The two alternate update by update so both see the same machine load; times are medians over
``--iters`` updates after ``--warmup``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from babeltag.config import OptimizerConfig
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.training.optim import make_optimizer
from babeltag.training.sparse_rows import clip_grad_norm, sparse_tables


class WordTagger(nn.Module):
    def __init__(self, vocab: int, dim: int, sparse: bool, tags: int = 17) -> None:
        super().__init__()
        self.words = WordEmbedding(vocab, dim, sparse=sparse)
        self.encoder = nn.LSTM(dim, 100, batch_first=True, bidirectional=True)
        self.output = nn.Linear(200, tags)

    def forward(self, ids: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        states, _ = self.encoder(self.words(ids))
        return nn.functional.cross_entropy(self.output(states).flatten(0, 1), tags.flatten())


def _updates(args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    batches = []
    for _ in range(args.warmup + args.iters):
        ids = np.minimum(rng.zipf(1.2, size=(args.B, args.T)), args.vocab - 1)
        batches.append((torch.from_numpy(ids), torch.from_numpy(rng.integers(17, size=(args.B, args.T)))))
    config = OptimizerConfig(type="adam", lr=1e-3)
    setups = {}
    for name in ("dense", "sparse"):
        torch.manual_seed(args.seed)
        model = WordTagger(args.vocab, args.dim, sparse=name == "sparse")
        optimizer = make_optimizer(model.parameters(), config, sparse=sparse_tables(model))
        setups[name] = (model, optimizer)
    times: dict[str, list[float]] = {name: [] for name in setups}
    for i, (ids, tags) in enumerate(batches):
        for name, (model, optimizer) in setups.items():
            began = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            model(ids, tags).backward()
            clip_grad_norm(list(model.parameters()), 5.0)
            optimizer.step()
            if i >= args.warmup:
                times[name].append((time.perf_counter() - began) * 1e3)
    distinct = statistics.mean(len(torch.unique(ids)) for ids, _ in batches)
    dense_ms, sparse_ms = (statistics.median(times[name]) for name in ("dense", "sparse"))
    return {
        "vocab": args.vocab,
        "dim": args.dim,
        "batch": [args.B, args.T],
        "distinct_words_per_batch": round(distinct, 1),
        "dense_update_ms": round(dense_ms, 2),
        "sparse_update_ms": round(sparse_ms, 2),
        "speedup": round(dense_ms / sparse_ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vocab", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--T", type=int, default=25)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"benchmark": "sparse_embeddings", "threads": args.threads, **_updates(args)}))


if __name__ == "__main__":
    main()
