"""Speed and agreement of babeltag's LinearChainCRF against pytorch-crf (torchcrf) on the same input.

    python benchmarks/crf.py [--B 32 --T 30 --K 17 --iters 50 --warmup 10 --threads 2 --seed 0]

Times (a) the negative log-likelihood, reduction sum, forward + backward (gradients for the
emissions and all transition parameters), and (b) Viterbi decoding, on full-length masks and on
variable lengths (uniform in 5..T). Decoding is timed as pytorch-crf returns it, Python lists cut
to each sentence's length, and also tensor-only for ours. The two implementations alternate call
by call, so both see the same machine load, and each time is the median over ``--iters`` calls
after ``--warmup``. Agreement is checked on the same inputs: NLL differences (float32 as timed,
and float64) and identical paths. The last line printed is one JSON object with the results; the
headline numbers (``ours_nll_ms`` ...) are those of the variable-length batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from babeltag.heads.crf import LinearChainCRF


def _timed(calls: dict[str, Callable[[], object]], iters: int, warmup: int) -> dict[str, float]:
    """Median milliseconds per call of each function, calling them in turn."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(warmup + iters):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            if i >= warmup:
                times[name].append((time.perf_counter() - began) * 1e3)
    return {name: statistics.median(values) for name, values in times.items()}


def _pair(num_tags: int, dtype: torch.dtype, seed: int) -> tuple[LinearChainCRF, Any]:
    """Our CRF and a pytorch-crf with the same parameters."""
    import torchcrf

    torch.manual_seed(seed)
    ours = LinearChainCRF(num_tags).to(dtype)
    theirs = torchcrf.CRF(num_tags, batch_first=True).to(dtype)
    with torch.no_grad():
        theirs.start_transitions.copy_(ours.start_transitions)
        theirs.transitions.copy_(ours.transitions)
        theirs.end_transitions.copy_(ours.end_transitions)
    return ours, theirs


def _case(args: argparse.Namespace, variable: bool) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(args.seed)
    shape = (args.B, args.T, args.K)
    emissions = torch.randn(shape, generator=generator)
    tags = torch.randint(args.K, shape[:2], generator=generator)
    if variable:
        lengths = torch.randint(min(5, args.T), args.T + 1, (args.B,), generator=generator)
    else:
        lengths = torch.full((args.B,), args.T)
    mask = torch.arange(args.T) < lengths.unsqueeze(1)
    length_list = lengths.tolist()

    ours, theirs = _pair(args.K, torch.float32, args.seed)
    ours_in = emissions.clone().requires_grad_()
    theirs_in = emissions.clone().requires_grad_()

    def ours_nll() -> None:
        ours.nll(ours_in, tags, mask).sum().backward()

    def theirs_nll() -> None:
        (-theirs(theirs_in, tags, mask, reduction="sum")).backward()

    def ours_decode() -> list[list[int]]:
        paths = ours.viterbi(emissions, mask).tolist()
        return [path[:length] for path, length in zip(paths, length_list, strict=True)]

    def ours_decode_tensor() -> torch.Tensor:
        return ours.viterbi(emissions, mask)

    def theirs_decode() -> list[list[int]]:
        return theirs.decode(emissions, mask)

    ms = _timed(
        {
            "ours_nll": ours_nll,
            "torchcrf_nll": theirs_nll,
            "ours_decode": ours_decode,
            "torchcrf_decode": theirs_decode,
            "ours_decode_tensor": ours_decode_tensor,
        },
        args.iters,
        args.warmup,
    )

    # agreement, float32 as timed and float64
    with torch.no_grad():
        ours_nll32 = ours.nll(emissions, tags, mask)
        theirs_nll32 = -theirs(emissions, tags, mask, reduction="none")
    ours64, theirs64 = _pair(args.K, torch.float64, args.seed)
    with torch.no_grad():
        ours_nll64 = ours64.nll(emissions.double(), tags, mask)
        theirs_nll64 = -theirs64(emissions.double(), tags, mask, reduction="none")
    diff32 = (ours_nll32 - theirs_nll32).abs()
    return {
        **{f"{name}_ms": round(value, 4) for name, value in ms.items()},
        "max_abs_nll_diff": diff32.max().item(),
        "max_rel_nll_diff": (diff32 / theirs_nll32.abs()).max().item(),
        "max_abs_nll_diff_vs_float64": (ours_nll32.double() - theirs_nll64).abs().max().item(),
        "torchcrf_max_abs_nll_diff_vs_float64": (theirs_nll32.double() - theirs_nll64).abs().max().item(),
        "max_abs_nll_diff_float64": (ours_nll64 - theirs_nll64).abs().max().item(),
        "same_paths": ours_decode() == theirs_decode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--B", type=int, default=32, help="sentences per batch")
    parser.add_argument("--T", type=int, default=30, help="longest sentence")
    parser.add_argument("--K", type=int, default=17, help="tags")
    parser.add_argument("--iters", type=int, default=50, help="timed calls per function")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        import torchcrf  # noqa: F401
    except ImportError:
        print(
            "pytorch-crf is not installed (pip install pytorch-crf==0.7.2); nothing to compare with",
            file=sys.stderr,
        )
        return 2
    torch.set_num_threads(args.threads)

    cases = {"full": _case(args, variable=False), "variable": _case(args, variable=True)}
    for name, case in cases.items():
        print(
            f"{name:>8} lengths: NLL fwd+bwd {case['ours_nll_ms']:.3f} ms vs torchcrf {case['torchcrf_nll_ms']:.3f} ms"
            f" | decode {case['ours_decode_ms']:.3f} ms (tensor only {case['ours_decode_tensor_ms']:.3f})"
            f" vs torchcrf {case['torchcrf_decode_ms']:.3f} ms"
            f" | max |NLL diff| {case['max_abs_nll_diff']:.2e} (rel {case['max_rel_nll_diff']:.1e},"
            f" float64 {case['max_abs_nll_diff_float64']:.1e}) | same paths {case['same_paths']}"
        )

    headline = cases["variable"]
    ours_total = headline["ours_nll_ms"] + headline["ours_decode_ms"]
    theirs_total = headline["torchcrf_nll_ms"] + headline["torchcrf_decode_ms"]
    result = {
        **{key: value for key, value in headline.items()},
        "nll_speedup": round(headline["torchcrf_nll_ms"] / headline["ours_nll_ms"], 2),
        "decode_speedup": round(headline["torchcrf_decode_ms"] / headline["ours_decode_ms"], 2),
        "total_speedup": round(theirs_total / ours_total, 2),
        "full_length": {
            **{key: value for key, value in cases["full"].items()},
            "total_speedup": round(
                (cases["full"]["torchcrf_nll_ms"] + cases["full"]["torchcrf_decode_ms"])
                / (cases["full"]["ours_nll_ms"] + cases["full"]["ours_decode_ms"]),
                2,
            ),
        },
        "same_paths": cases["full"]["same_paths"] and cases["variable"]["same_paths"],
        "nll_diff_within_1e-5": all(case["max_abs_nll_diff"] <= 1e-5 for case in cases.values()),
        "nll_diff_within_1e-5_float64": all(
            case["max_abs_nll_diff_float64"] <= 1e-5 for case in cases.values()
        ),
        "shape": [args.B, args.T, args.K],
        "B": args.B,
        "T": args.T,
        "K": args.K,
        "iters": args.iters,
        "warmup": args.warmup,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
