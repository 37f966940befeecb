"""Load time and peak memory of babeltag's ``read_vec`` against gensim on one large ``.vec`` file.

    python benchmarks/vectors.py [--words 200000 --dim 300 --keep 20000 --seed 1]

Writes a ``.vec`` of ``--words`` random words (random letters, 3 to 12 of them, all distinct) with
``--dim`` random components each (uniform in [-1, 1], 4 decimals, as fastText writes them) into a
temporary folder, then loads it five ways, each in a fresh Python process:

  ours_full   babeltag.embeddings.vectors.read_vec(path)
  ours_keep   read_vec(path, keep=a set of --keep words drawn at random from the whole file)
  ours_max    read_vec(path, max_words=--keep)        (the --keep most frequent, i.e. first, rows)
  gensim_full KeyedVectors.load_word2vec_format(path)
  gensim_max  KeyedVectors.load_word2vec_format(path, limit=--keep)

A fresh process per load makes peak memory comparable: ``peak_mb`` is the resident set's
high-water mark during the load (``VmHWM`` of ``/proc/self/status``, reset to the current size
just before the load through ``/proc/self/clear_refs``) minus the resident size when the load began,
i.e. after the imports. (``ru_maxrss`` would not do: a child starts with the high-water mark of the
parent it was forked from.) Linux only. ``seconds`` is wall time and ``cpu_s`` the process's CPU time
of the load. The result's own size is ``--words x --dim x 4`` bytes (229 MiB for the defaults). The
last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CASES = ("ours_full", "ours_keep", "ours_max", "gensim_full", "gensim_max")


def write_random_vec(path: Path, words: int, dim: int, seed: int) -> list[str]:
    """A ``count dim`` header and ``words`` rows; returns the words in file order."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary: dict[str, None] = {}
    while len(vocabulary) < words:
        for length in rng.integers(3, 13, size=words - len(vocabulary)):
            vocabulary["".join(rng.choice(letters, size=length))] = None
    word_list = list(vocabulary)[:words]
    # Components are k / 10000 for k in -10000..10000; formatting each float would take minutes,
    # looking up the k-th string does not.
    table = np.array([f"{k / 10000:.4f}" for k in range(-10000, 10001)], dtype=object)
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"{words} {dim}\n")
        for start in range(0, words, 10000):
            block = rng.integers(0, len(table), size=(min(10000, words - start), dim))
            out.write(
                "".join(
                    word + " " + " ".join(table[row]) + "\n"
                    for word, row in zip(word_list[start : start + len(block)], block, strict=True)
                )
            )
    return word_list


def _status_kb(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``: resident now, ``VmHWM``: its peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(case: str, path: str, keep_path: str, limit: int) -> dict[str, float | int | str]:
    """Run in the child process: import, then time one load."""
    if case.startswith("ours"):
        from babeltag.embeddings.vectors import read_vec
    else:
        from gensim.models import KeyedVectors
    keep = set(Path(keep_path).read_text(encoding="utf-8").split()) if case == "ours_keep" else None
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    baseline_kb = _status_kb("VmRSS")
    cpu_before = time.process_time()
    start = time.perf_counter()
    if case == "ours_full":
        vectors = read_vec(path)
    elif case == "ours_keep":
        vectors = read_vec(path, keep=keep)
    elif case == "ours_max":
        vectors = read_vec(path, max_words=limit)
    elif case == "gensim_full":
        vectors = KeyedVectors.load_word2vec_format(path, binary=False)
    else:
        vectors = KeyedVectors.load_word2vec_format(path, binary=False, limit=limit)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_before
    peak_kb = _status_kb("VmHWM")
    rows = len(vectors.words) if case.startswith("ours") else len(vectors.index_to_key)
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "peak_mb": round((peak_kb - baseline_kb) / 1024, 1),
        "rss_before_mb": round(baseline_kb / 1024, 1),
        "rows": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--words", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--keep", type=int, default=20_000, help="size of the keep set and of max_words")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--keep-path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(measure(args.case, args.path, args.keep_path, args.keep)))
        return

    with tempfile.TemporaryDirectory() as folder:
        path, keep_path = Path(folder) / "random.vec", Path(folder) / "keep.txt"
        start = time.perf_counter()
        words = write_random_vec(path, args.words, args.dim, args.seed)
        write_seconds = time.perf_counter() - start
        rng = np.random.default_rng(args.seed + 1)
        kept = [words[i] for i in rng.choice(len(words), size=args.keep, replace=False)]
        keep_path.write_text("\n".join(kept), encoding="utf-8")
        result: dict[str, object] = {
            "words": args.words,
            "dim": args.dim,
            "keep": args.keep,
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "array_mb": round(args.words * args.dim * 4 / 2**20, 1),
            "write_seconds": round(write_seconds, 1),
        }
        for case in CASES:
            command = [sys.executable, __file__, "--case", case, "--path", str(path)]
            command += ["--keep-path", str(keep_path), "--keep", str(args.keep)]
            child = subprocess.run(command, capture_output=True, text=True, check=True)
            result[case] = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"{case}: {result[case]}", file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
