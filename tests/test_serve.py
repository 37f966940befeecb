"""The HTTP service on tiny models saved from SYNTHETIC data: its answers are the API's, concurrent
requests share model calls, every bad request gets a 4xx that names the problem, and the real
uvicorn server answers over loopback and stops cleanly."""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import babeltag
from babeltag.api import Classified, Classifier, Tagged, Tagger
from babeltag.cli import main
from babeltag.data.synthetic import generate, make_language_family, write_corpus
from babeltag.errors import BabeltagError
from babeltag.serve import create_app, make_server, model_paths

NER = {
    "task": "ner",
    "language": "syn_src",
    "format": "conll",
    "train": "ner/syn_src/train.txt",
    "tag_scheme": "iob2",
}
SENTIMENT = {"task": "sentiment", "language": "syn_src", "format": "csv", "train": "cls/syn_src/train.csv"}

#: Small limits, so that the limit tests send small bodies.
LIMITS: dict[str, Any] = {"max_body_bytes": 10_000, "max_texts": 8, "max_tokens_per_text": 40}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, save_tiny_model: Callable[..., Path]) -> Path:
    """``runs/ner-es/model`` (CRF trained in BIOES on IOB2 files) and ``runs/sentiment-en/model``."""
    root = tmp_path_factory.mktemp("serve")
    data = root / "data"
    write_corpus(
        data, [make_language_family(seed=0)["source"]], sizes={"train": 30, "dev": 5, "test": 5}, seed=0
    )
    save_tiny_model(NER, "crf", data, root / "runs/ner-es/model", train_scheme="bioes")
    save_tiny_model(SENTIMENT, "classifier", data, root / "runs/sentiment-en/model")
    return root / "runs"


@pytest.fixture(scope="module")
def tagger(runs: Path) -> Tagger:
    loaded = babeltag.load(runs / "ner-es/model")
    assert isinstance(loaded, Tagger)
    return loaded


@pytest.fixture(scope="module")
def classifier(runs: Path) -> Classifier:
    loaded = babeltag.load(runs / "sentiment-en/model")
    assert isinstance(loaded, Classifier)
    return loaded


@pytest.fixture(scope="module")
def client(tagger: Tagger, classifier: Classifier) -> Iterator[TestClient]:
    with TestClient(create_app({"ner": tagger, "sentiment": classifier}, **LIMITS)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sentences() -> list[list[str]]:
    """SYNTHETIC NER sentences the models were not trained on."""
    return [
        example.tokens for example in generate(make_language_family(seed=0)["source"], 60, seed=7, task="ner")
    ]


TEXTS = ["Nieda pus Sikuv, o Punum!", "", "kir menmo (pus) Bivtukru.", "   ", "bo"]


def assert_same_tagged(results: Sequence[dict[str, Any]], expected: Sequence[Tagged]) -> None:
    """The service's answer is the API's: tokens, labels and spans exactly, scores to float rounding
    (which sentences share a batch moves the last bits of float32 arithmetic, in the API too)."""
    assert len(results) == len(expected)
    for result, tagged in zip(results, expected, strict=True):
        assert result["tokens"] == tagged.tokens
        assert result["labels"] == tagged.labels
        assert result["scores"] == pytest.approx(tagged.scores, abs=1e-6)
        assert result["spans"] == [{"label": label, "start": s, "end": e} for label, s, e in tagged.spans]


def assert_same_classified(results: Sequence[dict[str, Any]], expected: Sequence[Classified]) -> None:
    assert len(results) == len(expected)
    for result, classified in zip(results, expected, strict=True):
        assert result["label"] == classified.label
        assert list(result["probabilities"]) == list(classified.probabilities)  # most probable first
        assert result["probabilities"] == pytest.approx(classified.probabilities, abs=1e-6)


# ---------------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------------


def test_health_and_models(client: TestClient, tagger: Tagger, classifier: Classifier) -> None:
    assert client.get("/health").json() == {"status": "ok", "models": ["ner", "sentiment"]}
    assert client.get("/models").json() == {
        "models": [
            {
                "name": "ner",
                "kind": "tagger",
                "task": "ner",
                "language": "syn_src",
                "labels": tagger.labels,  # in BIOES, the scheme the model decodes in
                "tag_scheme": "iob2",
            },
            {
                "name": "sentiment",
                "kind": "classifier",
                "task": "sentiment",
                "language": "syn_src",
                "labels": classifier.labels,
                "tag_scheme": None,
            },
        ]
    }
    assert "S-PER" in tagger.labels and set(classifier.labels) == {"positive", "negative"}


def test_texts_and_tokens_are_tagged_as_the_api_tags_them(
    client: TestClient, tagger: Tagger, sentences: list[list[str]]
) -> None:
    response = client.post("/models/ner/predict", json={"texts": TEXTS})
    assert response.status_code == 200
    assert_same_tagged(response.json()["results"], tagger.tag(TEXTS))
    assert response.json()["results"][1] == {"tokens": [], "labels": [], "scores": [], "spans": []}

    response = client.post("/models/ner/predict", json={"tokens": sentences[:8]})
    assert response.status_code == 200
    results = response.json()["results"]
    assert_same_tagged(results, tagger.tag_tokens(sentences[:8]))
    assert any(result["spans"] for result in results)  # the comparison covers spans
    assert client.post("/models/ner/predict", json={"texts": []}).json() == {"results": []}


def test_texts_and_tokens_are_classified_as_the_api_classifies_them(
    client: TestClient, classifier: Classifier, sentences: list[list[str]]
) -> None:
    response = client.post("/models/sentiment/predict", json={"texts": TEXTS})
    assert response.status_code == 200
    assert_same_classified(response.json()["results"], classifier.classify(TEXTS))
    assert response.json()["results"][1] == {"label": None, "probabilities": {}}
    response = client.post("/models/sentiment/predict", json={"tokens": sentences[:5]})
    assert_same_classified(response.json()["results"], classifier.classify_tokens(sentences[:5]))


def test_post_predict_is_the_one_served_model(tagger: Tagger, classifier: Classifier) -> None:
    with TestClient(create_app({"ner": tagger})) as one:
        response = one.post("/predict", json={"texts": TEXTS[:1]})
        assert response.status_code == 200
        assert_same_tagged(response.json()["results"], tagger.tag(TEXTS[:1]))
    with TestClient(create_app({"ner": tagger, "sentiment": classifier})) as two:
        response = two.post("/predict", json={"texts": TEXTS[:1]})
        assert response.status_code == 404
        assert "exactly one" in response.json()["error"] and "ner, sentiment" in response.json()["error"]


# ---------------------------------------------------------------------------------------------------
# Micro-batching
# ---------------------------------------------------------------------------------------------------


class CallSpy:
    """Wraps a model's ``tag_tokens``: counts its calls and their sizes, and fails on a POISON token."""

    def __init__(self, method: Callable[[Sequence[Sequence[str]]], list[Tagged]]) -> None:
        self.method = method
        self.sizes: list[int] = []

    def __call__(self, sentences: Sequence[Sequence[str]]) -> list[Tagged]:
        self.sizes.append(len(sentences))
        if any("POISON" in sentence for sentence in sentences):
            raise BabeltagError("cannot label the token POISON")
        return self.method(sentences)


async def concurrently(
    app: Starlette, bodies: Sequence[dict[str, Any]], path: str = "/models/ner/predict"
) -> list[httpx.Response]:
    """POST every body at once through the app, with its lifespan (batching workers) running."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as http,
    ):
        return list(await asyncio.gather(*(http.post(path, json=body) for body in bodies)))


def request_bodies(sentences: list[list[str]], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` requests of 1 to 3 sentences each, half as tokens and half as texts."""
    rng = random.Random(seed)
    bodies: list[dict[str, Any]] = []
    for i in range(count):
        chosen = rng.sample(sentences, rng.randint(1, 3))
        bodies.append({"tokens": chosen} if i % 2 else {"texts": [" ".join(tokens) for tokens in chosen]})
    return bodies


def expected_for(tagger: Tagger, body: dict[str, Any]) -> list[Tagged]:
    return tagger.tag(body["texts"]) if "texts" in body else tagger.tag_tokens(body["tokens"])


def test_concurrent_requests_share_calls_and_each_gets_its_own_answer(
    tagger: Tagger, sentences: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = request_bodies(sentences, 40, seed=1)
    expected = [expected_for(tagger, body) for body in bodies]
    spy = CallSpy(tagger.tag_tokens)
    monkeypatch.setattr(tagger, "tag_tokens", spy)
    app = create_app({"ner": tagger}, batch_window_ms=200)
    responses = asyncio.run(concurrently(app, bodies))
    for response, tagged in zip(responses, expected, strict=True):
        assert response.status_code == 200
        assert_same_tagged(response.json()["results"], tagged)
    assert sum(spy.sizes) == sum(len(tagged) for tagged in expected)  # every sentence once
    assert len(spy.sizes) < len(bodies) // 4  # 40 requests in a handful of calls (usually one)


def test_the_server_answers_while_a_model_computes(tagger: Tagger, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prediction call runs in a thread: the event loop is free for other requests meanwhile."""
    original = tagger.tag_tokens

    def slow(sentences: Sequence[Sequence[str]]) -> list[Tagged]:
        time.sleep(0.5)  # a long call that lets go of the GIL, as torch does
        return original(sentences)

    monkeypatch.setattr(tagger, "tag_tokens", slow)
    app = create_app({"ner": tagger})

    async def scenario() -> tuple[float, float, int]:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as http,
        ):
            started = time.monotonic()
            slow_request = asyncio.create_task(http.post("/predict", json={"texts": ["bo"]}))
            await asyncio.sleep(0.1)  # the call has started
            await http.get("/health")
            health = time.monotonic() - started
            response = await slow_request
            return health, time.monotonic() - started, response.status_code

    health, predicted, status = asyncio.run(scenario())
    assert status == 200 and predicted >= 0.5
    assert health < 0.4  # answered while the prediction was still running


def test_a_call_takes_at_most_max_batch_sentences(
    tagger: Tagger, sentences: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [{"tokens": sentences[i : i + 2]} for i in range(0, 20, 2)] + [{"tokens": sentences[20:27]}]
    spy = CallSpy(tagger.tag_tokens)
    monkeypatch.setattr(tagger, "tag_tokens", spy)
    app = create_app({"ner": tagger}, batch_window_ms=200, max_batch_sentences=5)
    responses = asyncio.run(concurrently(app, bodies))
    monkeypatch.undo()
    for response, body in zip(responses, bodies, strict=True):
        assert_same_tagged(response.json()["results"], tagger.tag_tokens(body["tokens"]))
    # requests are not split: two requests of 2 make a call of 4 (a third would make 6), and the
    # request of 7, over the limit on its own, goes alone
    assert spy.sizes == [4, 4, 4, 4, 4, 7]


def test_a_request_that_breaks_its_batch_fails_alone(
    tagger: Tagger, sentences: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    bodies = [{"tokens": sentences[:2]}, {"tokens": [["bo", "POISON"]]}, {"texts": ["kir menmo pus"]}]
    spy = CallSpy(tagger.tag_tokens)
    monkeypatch.setattr(tagger, "tag_tokens", spy)
    app = create_app({"ner": tagger}, batch_window_ms=200)
    responses = asyncio.run(concurrently(app, bodies))
    monkeypatch.undo()
    assert [response.status_code for response in responses] == [200, 422, 200]
    assert responses[1].json() == {"error": "cannot label the token POISON"}
    assert_same_tagged(responses[0].json()["results"], tagger.tag_tokens(sentences[:2]))
    assert_same_tagged(responses[2].json()["results"], tagger.tag(["kir menmo pus"]))
    assert spy.sizes == [4, 2, 1, 1]  # the shared call, then each request alone


def test_shutdown_answers_the_queued_requests_then_refuses(
    tagger: Tagger, sentences: list[list[str]]
) -> None:
    app = create_app({"ner": tagger}, batch_window_ms=60_000)  # without shutdown they would wait a minute
    batcher = app.state.batchers["ner"]

    def worker_threads() -> int:
        return sum(thread.name.startswith("babeltag-serve") for thread in threading.enumerate())

    threads_before = worker_threads()  # other tests' apps may be running

    async def scenario() -> tuple[list[httpx.Response], float, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            async with app.router.lifespan_context(app):
                tasks = [
                    asyncio.create_task(http.post("/models/ner/predict", json={"tokens": [tokens]}))
                    for tokens in sentences[:6]
                ]
                while batcher.waiting < 6:
                    await asyncio.sleep(0.001)
                closing = time.monotonic()
            answered = list(await asyncio.gather(*tasks))
            seconds = time.monotonic() - closing
            return answered, seconds, await http.post("/models/ner/predict", json={"texts": ["bo"]})

    answered, seconds, late = asyncio.run(scenario())
    for response, tokens in zip(answered, sentences, strict=False):
        assert_same_tagged(response.json()["results"], tagger.tag_tokens([tokens]))
    assert seconds < 30  # answered at shutdown, not after the window
    assert late.status_code == 503 and "not running" in late.json()["error"]
    assert worker_threads() == threads_before  # the worker's thread has stopped


def test_settings_are_checked(tagger: Tagger) -> None:
    with pytest.raises(BabeltagError, match="no models"):
        create_app({})
    with pytest.raises(BabeltagError, match="model name 'a/b'"):
        create_app({"a/b": tagger})
    with pytest.raises(BabeltagError, match="max-texts must be at least 1, got 0"):
        create_app({"ner": tagger}, max_texts=0)
    with pytest.raises(BabeltagError, match="batch-window-ms must be a number of milliseconds"):
        create_app({"ner": tagger}, batch_window_ms=float("nan"))


def test_without_its_lifespan_the_app_refuses_instead_of_hanging(tagger: Tagger) -> None:
    response = TestClient(create_app({"ner": tagger})).post("/predict", json={"texts": ["bo"]})
    assert response.status_code == 503


# ---------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------

NER_URL = "/models/ner/predict"


BAD_REQUESTS: list[tuple[bytes, int, str]] = [
    # not JSON
    (b"", 400, "the body is empty"),
    (b'{"texts": ["bo"]', 400, "malformed JSON: Expecting ',' delimiter at line 1 column 17"),
    (b'{"texts": ["bo"],}', 400, "malformed JSON: Expecting property name"),
    (b'{"texts": ["\xff"]}', 400, "not UTF-8 (byte 12)"),
    (b"[" * 3000 + b"]" * 3000, 400, "nested too deeply"),
    (b'{"texts": ' + b"1" * 5000 + b"}", 400, "malformed JSON: Exceeds the limit (4300 digits)"),
    # JSON of the wrong shape
    (b'["bo"]', 422, 'expected a JSON object {"texts"'),
    (b"{}", 422, 'no "texts" and no "tokens"'),
    (b'{"text": ["bo"]}', 422, "unknown key 'text'"),
    (json.dumps({"k" * 5000: 1}).encode(), 422, "unknown key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...'"),
    (b'{"texts": ["bo"], "tokens": [["bo"]]}', 422, 'give "texts" or "tokens", not both'),
    (b'{"texts": "bo pus"}', 422, "texts must be a list of strings, got a string"),
    (b'{"texts": ["bo", 3]}', 422, "texts[1] must be a string, got a number"),
    (b'{"texts": ["bo", null]}', 422, "texts[1] must be a string, got null"),
    (
        b'{"tokens": ["bo pus"]}',
        422,
        "tokens[0] must be a list of strings (one sentence's tokens), got a string",
    ),
    (b'{"tokens": [["bo"], ["pus", {"a": 1}]]}', 422, "tokens[1][1] must be a string, got an object"),
    (b'{"tokens": [["bo", ""]]}', 422, "tokens[0][1] is an empty token"),
    (b'{"tokens": [["bo", " \\t"]]}', 422, "tokens[0][1] is an empty token"),
    (b'{"texts": ["ok", "bad \\ud800"]}', 422, "texts[1] is not valid Unicode"),
    # over the limits (LIMITS)
    (json.dumps({"texts": ["bo"] * 9}).encode(), 413, "9 texts in one request; the limit is 8"),
    (json.dumps({"tokens": [["bo"]] * 9}).encode(), 413, "9 sentences in one request; the limit is 8"),
    (
        json.dumps({"texts": ["bo, " * 20 + "bo"]}).encode(),
        413,
        "texts[0] has 41 tokens (as the model's tokenizer",
    ),
    (
        json.dumps({"tokens": [["bo"], ["bo"] * 41]}).encode(),
        413,
        "tokens[1] has 41 tokens; the limit is 40",
    ),
    (json.dumps({"texts": ["bo " * 4000]}).encode(), 413, "larger than 10,000 bytes"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_REQUESTS, ids=[m for _, _, m in BAD_REQUESTS])
def test_bad_requests_get_a_4xx_that_names_the_problem(
    client: TestClient, body: bytes, status: int, message: str
) -> None:
    response = client.post(NER_URL, content=body)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert message in response.json()["error"]


def test_a_body_over_the_limit_is_refused_while_it_streams(client: TestClient) -> None:
    """A chunked upload declares no length: the bytes read are counted."""
    chunks = [b'{"texts": ["', b"bo " * 2000, b"bo " * 2000, b'"]}']
    response = client.post(NER_URL, content=iter(chunks))
    assert "content-length" not in response.request.headers
    assert response.status_code == 413 and "larger than 10,000 bytes" in response.json()["error"]
    assert client.post(NER_URL, content=iter([b'{"texts": ', b'["bo"]}'])).status_code == 200


def test_unknown_models_paths_and_methods(client: TestClient) -> None:
    response = client.post("/models/pos/predict", json={"texts": ["bo"]})
    assert response.status_code == 404
    assert response.json() == {"error": "no model named 'pos'; this server serves: ner, sentiment"}
    response = client.get("/nowhere")
    assert response.status_code == 404 and "POST /models/{name}/predict" in response.json()["error"]
    response = client.get(NER_URL)
    assert response.status_code == 405
    assert response.json() == {"error": f"GET is not allowed on {NER_URL}; use POST"}
    assert response.headers["allow"] == "POST"
    response = client.post("/health")
    assert response.json() == {"error": "POST is not allowed on /health; use GET or HEAD"}


def test_nothing_a_client_sends_gives_a_500(client: TestClient) -> None:
    """Seeded random bodies, bytes and JSON values of every shape: each gets a deliberate answer."""
    rng = random.Random(0)
    keys = ["texts", "texts", "tokens", "tokens", "x", "\udfff", "k" * 10_000]

    def value(depth: int) -> Any:
        kinds = ["str", "empty", "int", "float", "bool", "null"] + (["list", "dict"] if depth < 3 else [])
        kind = rng.choice(kinds)
        if kind == "list":
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if kind == "dict":
            return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 2))}
        return {
            "str": lambda: rng.choice(
                ["bo", "Nieda pus Sikuv!", "\u00e9\u4e2d\U0001f600", "a\x00b", " ", "\ud800"]
            ),
            "empty": lambda: "",
            "int": lambda: rng.randint(-5, 5),
            "float": lambda: rng.random(),
            "bool": lambda: rng.random() < 0.5,
            "null": lambda: None,
        }[kind]()

    statuses = set()
    for _ in range(150):
        payload = {rng.choice(keys): value(1)}
        response = client.post(NER_URL, content=json.dumps(payload).encode())
        statuses.add(response.status_code)
        assert response.status_code in (200, 413, 422), (payload, response.text)
    for _ in range(50):
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        response = client.post(NER_URL, content=body)
        assert response.status_code in (200, 400, 413, 422), (body, response.text)
    assert {200, 422} <= statuses


# ---------------------------------------------------------------------------------------------------
# Model names, the command line, the real server
# ---------------------------------------------------------------------------------------------------


def test_model_names_come_from_run_folders_or_are_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert model_paths(["runs/ner-es/model", "pos=runs/upos-en/model", "a/b/other"]) == {
        "ner-es": Path("runs/ner-es/model"),
        "pos": Path("runs/upos-en/model"),
        "other": Path("a/b/other"),
    }
    with pytest.raises(BabeltagError, match="two models named 'ner'.*NAME=PATH"):
        model_paths(["a/ner/model", "b/ner/model"])
    with pytest.raises(BabeltagError, match="two models named 'x'"):
        model_paths(["x=a/model", "x=b/model"])
    with pytest.raises(BabeltagError, match="model name 'bad name'"):
        model_paths(["bad name=a/model"])
    # the command line says so without a traceback, and before loading anything
    assert main(["serve", "a/ner/model", "b/ner/model"]) == 2
    assert "two models named 'ner'" in capsys.readouterr().err
    assert main(["serve", str(tmp_path / "missing/model")]) == 2
    assert "missing" in capsys.readouterr().err


def test_a_missing_starlette_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "starlette.applications", None)  # what an absent package looks like
    monkeypatch.delitem(sys.modules, "babeltag.serve")
    with pytest.raises(BabeltagError, match=r"pip install 'babeltag\[serve\]'"):
        importlib.import_module("babeltag.serve")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_real_server_answers_over_loopback_and_stops(tagger: Tagger, classifier: Classifier) -> None:
    port = free_port()
    server = make_server({"ner": tagger, "cls": classifier}, port=port, access_log=False)
    thread = threading.Thread(target=server.run, name="uvicorn")
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        assert httpx.get(f"{url}/health").json() == {"status": "ok", "models": ["ner", "cls"]}
        response = httpx.post(f"{url}/models/ner/predict", json={"texts": TEXTS})
        assert response.status_code == 200
        assert_same_tagged(response.json()["results"], tagger.tag(TEXTS))
        response = httpx.post(f"{url}/models/cls/predict", content=b'{"texts": ["bo"]')
        assert response.status_code == 400 and "malformed JSON" in response.json()["error"]
    finally:
        server.should_exit = True  # what Ctrl-C does
        thread.join(timeout=30)
    assert not thread.is_alive()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health")


def test_babeltag_serve_passes_its_options_on(runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("babeltag.serve.serve", lambda models, **options: served.update(models, **options))
    model = str(runs / "ner-es/model")
    assert (
        main(["serve", model, f"cls={runs / 'sentiment-en/model'}", "--port", "9000", "--threads", "1"]) == 0
    )
    assert isinstance(served.pop("ner-es"), Tagger) and isinstance(served.pop("cls"), Classifier)
    assert served == {
        "host": "127.0.0.1",
        "port": 9000,
        "threads": 1,
        "access_log": True,
        "max_body_bytes": 1_048_576,
        "max_texts": 256,
        "max_tokens_per_text": 512,
        "batch_window_ms": 5.0,
        "max_batch_sentences": 512,
    }
