#!/usr/bin/env python
"""Load test of ``babeltag serve`` on loopback: throughput, latency, and that every answer is right.

Trains a small NER tagger on SYNTHETIC data (char CNN + BiLSTM + CRF, a few seconds; or takes
``--model``), starts ``babeltag serve`` on it as a subprocess on a free port, waits for ``/health``,
then runs ``--clients`` concurrent clients for ``--seconds``. Each client sends one request at a
time (keep-alive), of ``--sentences`` sentences drawn from a held-out synthetic set, alternately as
raw ``texts`` and as ``tokens``, and checks the labels of every answer against those the API gives
for the same sentences in this process. The server is stopped at the end, also on Ctrl-C or kill.

    python benchmarks/serve_load.py [--clients 16] [--seconds 20] [--server-threads 1]

Before the server starts, the same model is timed through the API directly, in calls of 1,
``--sentences``, 64 and 256 sentences (one thread): the speed a call of each size reaches.

The last line printed is one JSON object: clients, seconds, requests, sentences_per_s,
requests_per_s, p50_ms, p99_ms, errors (non-200 answers and failed or lost requests), wrong
(answers whose labels differ from the API's), and the settings and API speeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import torch

import babeltag
from babeltag.api import Tagger
from babeltag.config import parse_config
from babeltag.data.batching import TensorDataset, iterate_batches
from babeltag.data.datasets import build_vocabularies, normaliser_of, read_split, to_scheme
from babeltag.data.synthetic import generate, make_language_family, write_corpus
from babeltag.models.archive import save_model
from babeltag.models.build import build_model, training_scheme

#: A small but real tagger: what a user would serve, cut down so that it trains in seconds.
MODEL: dict[str, Any] = {
    "word_embedding": {"dim": 64},
    "char_encoder": {"type": "cnn", "char_dim": 16, "widths": [3], "filters": 32},
    "word_encoder": {"hidden": 64},
    "head": {"type": "crf"},
    "train_scheme": "bioes",
}
DATA = {
    "task": "ner",
    "language": "syn_src",
    "format": "conll",
    "train": "ner/syn_src/train.txt",
    "tag_scheme": "iob2",
}


def train_small_tagger(folder: Path, sentences: int, seed: int) -> Path:
    """One epoch over ``sentences`` synthetic NER sentences, saved to ``folder/ner/model``."""
    write_corpus(
        folder / "data", [make_language_family(seed=0)["source"]], sizes={"train": sentences}, seed=seed
    )
    config = parse_config({"data": DATA, "model": MODEL, "training": {"batch_size": 16}})
    torch.manual_seed(seed)
    train = to_scheme(
        read_split(config.data, "train", folder / "data"), config.data.tag_scheme, training_scheme(config)
    )
    vocabularies = build_vocabularies(train, config)
    network = build_model(config, vocabularies)
    optimiser = torch.optim.Adam(network.parameters(), lr=0.005)
    for batch in iterate_batches(TensorDataset(train, vocabularies, normaliser_of(config), "token"), 16):
        losses = network(batch)
        optimiser.zero_grad()
        sum(losses.values()).backward()  # type: ignore[union-attr]
        optimiser.step()
    return save_model(folder / "ner" / "model", network, config, vocabularies)


def api_speed(
    tagger: Tagger, pool: list[list[str]], sizes: tuple[int, ...], seconds: float
) -> dict[str, float]:
    """Sentences/s of ``tagger.tag_tokens`` called directly over ``size`` sentences at a time, in
    this process (one thread): what the server's calls can reach, and why it batches."""
    speed = {}
    for size in sizes:
        tagger.tag_tokens(pool[:size])  # the first call of a size allocates
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            start = (calls * size) % (len(pool) - size)
            tagger.tag_tokens(pool[start : start + size])
            calls += 1
        speed[str(size)] = round(calls * size / (time.perf_counter() - started), 1)
    return speed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_health(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            sys.exit(f"the server exited with code {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"the server did not answer /health in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def stop(server: subprocess.Popen[bytes]) -> None:
    """Ctrl-C for the server (it answers what it has, then exits), a kill if it hangs."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Load:
    """The requests to send and their expected labels, and what came back."""

    def __init__(self, tagger: Tagger, pool: list[list[str]], per_request: int, seed: int) -> None:
        self.pool = pool
        self.texts = [" ".join(tokens) for tokens in pool]
        # the labels the API gives, computed once for every sentence as tokens and as text
        self.expected_tokens = [tagged.labels for tagged in tagger.tag_tokens(pool)]
        self.expected_texts = [tagged.labels for tagged in tagger.tag(self.texts)]
        self.per_request = per_request
        self.rng = random.Random(seed)
        self.latencies: list[float] = []  # of the requests answered, whatever the status
        self.sentences = self.errors = self.lost = self.wrong = 0

    def request(self, number: int) -> tuple[dict[str, Any], list[list[str]]]:
        chosen = self.rng.sample(range(len(self.pool)), self.per_request)
        if number % 2:
            return {"tokens": [self.pool[i] for i in chosen]}, [self.expected_tokens[i] for i in chosen]
        return {"texts": [self.texts[i] for i in chosen]}, [self.expected_texts[i] for i in chosen]

    async def client(self, http: httpx.AsyncClient, url: str, until: float, record: bool) -> None:
        number = 0
        while time.perf_counter() < until:
            body, expected = self.request(number)
            number += 1
            started = time.perf_counter()
            try:
                response = await http.post(url, json=body)
            except httpx.HTTPError:  # refused, reset, timed out: a lost request
                self.lost += record
                continue
            if not record:
                continue
            self.latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                self.errors += 1
                continue
            results = response.json()["results"]
            self.sentences += len(results)
            self.wrong += [result["labels"] for result in results] != expected


async def run_clients(load: Load, url: str, clients: int, seconds: float) -> tuple[float, float]:
    """Wall-clock seconds of the timed run, and the CPU seconds the clients took in it."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        # warm-up: every connection open and the model past its first calls, not timed
        warm_until = time.perf_counter() + 1.0
        await asyncio.gather(*(load.client(http, url, warm_until, record=False) for _ in range(clients)))
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(
            *(load.client(http, url, started + seconds, record=True) for _ in range(clients))
        )
        return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--sentences", type=int, default=4, help="sentences per request")
    parser.add_argument("--model", default=None, help="a saved tagger (default: train a small one)")
    parser.add_argument("--server-threads", type=int, default=1, help="the server's torch threads")
    parser.add_argument("--batch-window-ms", type=float, default=5.0)
    parser.add_argument(
        "--max-batch-sentences",
        type=int,
        default=512,
        help="sentences in one model call (= --sentences: one request per call, no batching)",
    )
    parser.add_argument("--train-sentences", type=int, default=1000)
    parser.add_argument("--heldout-sentences", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(1)  # this process is the clients; the server gets the other core(s)
    # `kill` stops the server too, as Ctrl-C does (both raise KeyboardInterrupt in the run below)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory(prefix="babeltag-serve-load-") as scratch:
        folder = Path(scratch)
        model = (
            Path(args.model) if args.model else train_small_tagger(folder, args.train_sentences, args.seed)
        )
        tagger = babeltag.load(model)
        if not isinstance(tagger, Tagger):
            sys.exit(f"{model}: a tagger is needed, this is a {type(tagger).__name__}")
        # held out: another seed than the training data's
        heldout = generate(
            make_language_family(seed=0)["source"], args.heldout_sentences, seed=args.seed + 1000, task="ner"
        )
        load = Load(tagger, [example.tokens for example in heldout], args.sentences, args.seed)
        direct = api_speed(tagger, load.pool, (1, args.sentences, 64, 256), seconds=1.5)

        port = free_port()
        log = folder / "server.log"
        command = [sys.executable, "-m", "babeltag", "serve", f"ner={model}", "--port", str(port)]
        command += ["--threads", str(args.server_threads), "--batch-window-ms", str(args.batch_window_ms)]
        command += ["--max-batch-sentences", str(args.max_batch_sentences)]
        command += ["--max-texts", str(max(args.sentences, 256)), "--no-access-log"]
        with log.open("wb") as log_file:
            # a session of its own: Ctrl-C reaches this script only, which then stops the server
            server = subprocess.Popen(
                command,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "OMP_NUM_THREADS": str(args.server_threads)},
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_health(url, server, log, timeout=120)
            seconds, client_cpu = asyncio.run(
                run_clients(load, f"{url}/models/ner/predict", args.clients, args.seconds)
            )
        except KeyboardInterrupt:
            stop(server)
            sys.exit("interrupted; the server is stopped")
        finally:
            stop(server)
    latencies_ms = np.array(load.latencies) * 1000
    requests = len(load.latencies) + load.lost
    result = {
        "clients": args.clients,
        "seconds": round(seconds, 2),
        "requests": requests,
        "sentences_per_s": round(load.sentences / seconds, 1),  # answered with 200
        "requests_per_s": round(requests / seconds, 1),
        "p50_ms": round(float(np.percentile(latencies_ms, 50)), 2) if load.latencies else None,
        "p99_ms": round(float(np.percentile(latencies_ms, 99)), 2) if load.latencies else None,
        "errors": load.errors + load.lost,
        "wrong": load.wrong,
        "sentences_per_request": args.sentences,
        "server_threads": args.server_threads,
        "batch_window_ms": args.batch_window_ms,
        "max_batch_sentences": args.max_batch_sentences,
        "client_cpu_s": round(client_cpu, 1),  # the clients share the machine with the server
        "api_sentences_per_s_by_call_size": direct,
        "server_exit_code": server.returncode,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
