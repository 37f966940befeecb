"""The HTTP service: trained models behind a small JSON API (``babeltag serve``).

    babeltag serve runs/ner/model pos=runs/upos-en/model --port 8080
    curl -s localhost:8080/models/ner/predict -d '{"texts": ["Juan Carlos visita Madrid."]}'

Endpoints (see docs/api.md): ``GET /health``, ``GET /models``, ``POST /models/{name}/predict``, and
``POST /predict`` when one model is served. A request gives raw ``texts`` (split by the model's
tokenizer, as :meth:`Tagger.tag` splits them) or ``tokens``; the answer has one result per sentence,
in order: what :mod:`babeltag.api` returns, as JSON.

Requests are micro-batched. Each model has one queue and one worker task: the worker takes the
oldest waiting request, waits up to ``batch_window_ms`` for others to join it (or until
``max_batch_sentences`` are waiting), and runs ONE prediction call over all their sentences in a
thread of its own, so the event loop keeps reading requests while torch computes (torch releases the
GIL). The results are then split back to the requests. Under load this turns many small calls into
few large ones, which is where a CPU model is fast; a lone request waits at most the window.

Everything a client can get wrong is answered with ``{"error": message}`` and a 4xx status, never a
500: the body is read against a byte limit before it is parsed, and its shape is checked, with the
index of the first bad item, before anything reaches a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import sys
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babeltag.api import Classified, Classifier, Tagged, Tagger
from babeltag.errors import BabeltagError

try:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import ClientDisconnect, Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route
except ImportError as error:  # the service is an optional extra; the rest of babeltag works without it
    raise BabeltagError(
        f"the HTTP service needs starlette and uvicorn ({error}): pip install 'babeltag[serve]'"
    ) from error

if TYPE_CHECKING:
    import uvicorn

Model = Tagger | Classifier
JSONValue = Any  # what json.loads returns: dict, list, str, int, float, bool or None

#: Defaults of :func:`create_app` and ``babeltag serve``.
MAX_BODY_BYTES = 1_048_576
MAX_TEXTS = 256
MAX_TOKENS_PER_TEXT = 512
BATCH_WINDOW_MS = 5.0
MAX_BATCH_SENTENCES = 512  # the API's default batch size: one batch call is one model batch

#: A request whose texts are longer than this (characters, all together) is tokenized in a thread,
#: so that splitting a large body in Python does not hold up every other request on the event loop.
#: Below it the thread hop would cost more than the tokenizing.
TOKENIZE_INLINE_CHARS = 20_000

#: Model names go into URLs (/models/NAME/predict), so they are kept to URL-safe characters.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class RequestError(BabeltagError):
    """A request the service refuses: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What one request may contain (see :func:`create_app`)."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_texts: int = MAX_TEXTS
    max_tokens_per_text: int = MAX_TOKENS_PER_TEXT

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise BabeltagError(f"{name.replace('_', '-')} must be at least 1, got {value}")


# ---------------------------------------------------------------------------------------------------
# Results as JSON: the API's dataclasses, field for field
# ---------------------------------------------------------------------------------------------------


def tagged_json(tagged: Tagged) -> dict[str, JSONValue]:
    return {
        "tokens": tagged.tokens,
        "labels": tagged.labels,
        "scores": tagged.scores,
        "spans": [{"label": label, "start": start, "end": end} for label, start, end in tagged.spans],
    }


def classified_json(classified: Classified) -> dict[str, JSONValue]:
    # a JSON object keeps its order, so the probabilities stay most probable first
    return {"label": classified.label, "probabilities": classified.probabilities}


def describe(name: str, model: Model) -> dict[str, JSONValue]:
    """One model of ``GET /models``."""
    return {
        "name": name,
        "kind": "tagger" if isinstance(model, Tagger) else "classifier",
        "task": model.task,
        "language": model.language,
        "labels": model.labels,
        "tag_scheme": model.tag_scheme if isinstance(model, Tagger) else None,
    }


# ---------------------------------------------------------------------------------------------------
# Micro-batching: one queue and one worker per model
# ---------------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    sentences: list[list[str]]
    future: asyncio.Future[list[dict[str, JSONValue]]]
    arrived: float  # event-loop time


Outcome = list[dict[str, JSONValue]] | Exception


class Batcher:
    """Runs the requests to one model through it together.

    Requests are answered in the order they came. One worker task per model, and one thread under
    it, so a model never runs two calls at once (torch's own threads parallelise within a call),
    while different models run side by side.
    """

    def __init__(self, name: str, model: Model, window_ms: float, max_sentences: int) -> None:
        if not 0 <= window_ms < math.inf:  # also refuses NaN
            raise BabeltagError(
                f"batch-window-ms must be a number of milliseconds, 0 or more, got {window_ms}"
            )
        if max_sentences < 1:
            raise BabeltagError(f"max-batch-sentences must be at least 1, got {max_sentences}")
        self.name = name
        self.model = model
        self.window_s = window_ms / 1000
        self.max_sentences = max_sentences
        self._pending: deque[_Pending] = deque()
        self._pending_sentences = 0
        self._arrived = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def waiting(self) -> int:
        """Sentences queued and not yet taken into a call."""
        return self._pending_sentences

    # -- the event loop's side ----------------------------------------------------------------------

    def start(self) -> None:
        self._closing = False
        self._arrived = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"babeltag-serve-{self.name}")
        self._task = asyncio.create_task(self._work(), name=f"babeltag-serve-{self.name}")

    async def close(self) -> None:
        """Stop taking requests, answer those already queued, then stop the worker and its thread."""
        self._closing = True
        self._arrived.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # idle by now: the worker awaited its last call
            self._executor = None

    async def predict(self, sentences: list[list[str]]) -> list[dict[str, JSONValue]]:
        """The results of ``sentences``, computed in a batch with whatever else is waiting."""
        if self._task is None or self._closing:
            # also the case when the server did not run the app's lifespan (uvicorn --lifespan off)
            raise RequestError(503, "the service is not running (starting up or shutting down)")
        if not sentences:
            return []
        future: asyncio.Future[list[dict[str, JSONValue]]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(sentences, future, asyncio.get_running_loop().time()))
        self._pending_sentences += len(sentences)
        self._arrived.set()
        return await future

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            # The oldest request waits at most the window, counted from its arrival: after a long
            # call, requests that queued up meanwhile have waited long enough and go at once.
            deadline = self._pending[0].arrived + self.window_s
            while not self._closing and self._pending_sentences < self.max_sentences:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    async with asyncio.timeout(remaining):
                        await self._arrived.wait()
                except TimeoutError:
                    break
            batch = self._take()
            if batch:
                await self._run(batch)

    def _take(self) -> list[_Pending]:
        """The oldest requests, up to ``max_sentences`` together (at least one, however long)."""
        batch: list[_Pending] = []
        sentences = 0
        while self._pending:
            request = self._pending[0]
            if batch and sentences + len(request.sentences) > self.max_sentences:
                break
            self._pending.popleft()
            self._pending_sentences -= len(request.sentences)
            if request.future.done():  # the client went away while it waited
                continue
            batch.append(request)
            sentences += len(request.sentences)
        return batch

    async def _run(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        try:
            outcomes = await loop.run_in_executor(
                self._executor, self._predict_requests, [request.sentences for request in batch]
            )
        except Exception as error:  # the thread pool itself failed; the requests must still hear
            outcomes = [error] * len(batch)
        for request, outcome in zip(batch, outcomes, strict=True):
            if request.future.done():
                continue
            if isinstance(outcome, Exception):
                request.future.set_exception(outcome)
            else:
                request.future.set_result(outcome)

    # -- the worker thread's side -------------------------------------------------------------------

    def _predict(self, sentences: list[list[str]]) -> list[dict[str, JSONValue]]:
        # the attribute is looked up at each call, so a wrapped model method (a test's spy) is used;
        # the JSON dicts are built here too, off the event loop
        if isinstance(self.model, Tagger):
            return [tagged_json(tagged) for tagged in self.model.tag_tokens(sentences)]
        return [classified_json(classified) for classified in self.model.classify_tokens(sentences)]

    def _predict_requests(self, requests: list[list[list[str]]]) -> list[Outcome]:
        """One call over every request's sentences, split back per request.

        If the call fails, each request is run alone, so that only the one that caused it fails.
        """
        try:
            results = self._predict([sentence for sentences in requests for sentence in sentences])
        except Exception as error:
            if len(requests) == 1:
                return [error]
            return [self._predict_alone(sentences) for sentences in requests]
        outcomes: list[Outcome] = []
        start = 0
        for sentences in requests:
            outcomes.append(results[start : start + len(sentences)])
            start += len(sentences)
        return outcomes

    def _predict_alone(self, sentences: list[list[str]]) -> Outcome:
        try:
            return self._predict(sentences)
        except Exception as error:
            return error


# ---------------------------------------------------------------------------------------------------
# Reading and checking a request
# ---------------------------------------------------------------------------------------------------


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over ``max_bytes``: from the
    Content-Length header before anything is read, else while it streams in (chunked uploads have
    no length, and a declared length is not trusted to be the real one)."""
    too_large = RequestError(413, f"request body is larger than {max_bytes:,} bytes (--max-body-bytes)")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, f"invalid Content-Length header {declared!r}")
        if int(declared) > max_bytes:
            raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "the client closed the connection before the body was read") from None
    return b"".join(chunks)


def parse_json(body: bytes) -> JSONValue:
    """The JSON value of ``body``, or 400 saying what is wrong with it and where."""
    if not body.strip():
        raise RequestError(
            400, 'malformed JSON: the body is empty (expected {"texts": [...]} or {"tokens": [...]})'
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, f"malformed JSON: the body is not UTF-8 (byte {error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RequestError(
            400, f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise RequestError(400, "malformed JSON: nested too deeply") from None
    except ValueError as error:  # e.g. an integer longer than Python converts (4,300 digits)
        raise RequestError(400, f"malformed JSON: {error}") from None


def _kind(value: JSONValue) -> str:
    """A JSON value's type, for messages: "got a number"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _check_string(value: JSONValue, where: str, expected: str) -> str:
    if not isinstance(value, str):
        raise RequestError(422, f"{where} must be {expected}, got {_kind(value)}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON can spell a lone surrogate ("\ud800"); it is no character and cannot be answered
            raise RequestError(422, f"{where} is not valid Unicode (a lone surrogate)") from None
    return value


def _check_list(value: JSONValue, where: str, expected: str) -> list[JSONValue]:
    if not isinstance(value, list):
        raise RequestError(422, f"{where} must be {expected}, got {_kind(value)}")
    return value


SHAPE = 'expected a JSON object {"texts": ["a text", ...]} or {"tokens": [["a", "sentence"], ...]}'


def request_items(payload: JSONValue, limits: Limits) -> tuple[str, list[JSONValue]]:
    """``("texts", [...])`` or ``("tokens", [...])``: which key the request uses, and its list, not
    longer than the limit. The items are checked by :func:`check_texts` / :func:`check_tokens`."""
    if not isinstance(payload, dict):
        raise RequestError(422, f"{SHAPE}, got {_kind(payload)}")
    unknown = sorted(set(payload) - {"texts", "tokens"})
    if unknown:
        raise RequestError(422, f"unknown key {_shorten(unknown[0])!r}: {SHAPE}")
    if "texts" in payload and "tokens" in payload:
        raise RequestError(422, f'give "texts" or "tokens", not both: {SHAPE}')
    if "texts" not in payload and "tokens" not in payload:
        raise RequestError(422, f'no "texts" and no "tokens": {SHAPE}')
    key = "texts" if "texts" in payload else "tokens"
    expected = "a list of strings" if key == "texts" else "a list of lists of strings"
    items = _check_list(payload[key], key, expected)
    if len(items) > limits.max_texts:
        what = "texts" if key == "texts" else "sentences"
        raise RequestError(
            413, f"{len(items):,} {what} in one request; the limit is {limits.max_texts:,} (--max-texts)"
        )
    return key, items


def check_texts(items: list[JSONValue]) -> list[str]:
    return [_check_string(text, f"texts[{i}]", "a string") for i, text in enumerate(items)]


def check_tokens(items: list[JSONValue], limits: Limits) -> list[list[str]]:
    sentences = []
    for i, item in enumerate(items):
        where = f"tokens[{i}]"
        sentence = _check_list(item, where, "a list of strings (one sentence's tokens)")
        _check_length(len(sentence), where, limits)
        tokens = []
        for j, token in enumerate(sentence):
            token = _check_string(token, f"{where}[{j}]", "a string")
            if not token.strip():
                # no file format can hold such a token, so no model was trained on one
                raise RequestError(
                    422, f"{where}[{j}] is an empty token; every token needs a visible character"
                )
            tokens.append(token)
        sentences.append(tokens)
    return sentences


def _check_length(tokens: int, where: str, limits: Limits, how: str = "") -> None:
    if tokens > limits.max_tokens_per_text:
        raise RequestError(
            413,
            f"{where} has {tokens:,} tokens{how}; the limit is {limits.max_tokens_per_text:,} "
            "per text (--max-tokens-per-text)",
        )


def tokenize(texts: list[str], tokenizer: Callable[[str], list[str]], limits: Limits) -> list[list[str]]:
    """The model's tokens of each text (as :meth:`Tagger.tag` splits them), within the token limit."""
    sentences = []
    for i, text in enumerate(texts):
        tokens = tokenizer(text)
        _check_length(len(tokens), f"texts[{i}]", limits, " (as the model's tokenizer splits it)")
        sentences.append(tokens)
    return sentences


async def read_sentences(request: Request, model: Model, limits: Limits) -> list[list[str]]:
    """The request's sentences as lists of tokens, every limit and shape checked."""
    key, items = request_items(parse_json(await read_body(request, limits.max_body_bytes)), limits)
    if key == "tokens":
        return check_tokens(items, limits)
    texts = check_texts(items)
    if sum(map(len, texts)) <= TOKENIZE_INLINE_CHARS:
        return tokenize(texts, model.tokenizer, limits)
    return await asyncio.to_thread(tokenize, texts, model.tokenizer, limits)


def _shorten(text: str, limit: int = 40) -> str:
    """A client's string quoted back in a message, cut so that the message stays a message."""
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


ENDPOINTS = "GET /health, GET /models, POST /models/{name}/predict, POST /predict"


def create_app(
    models: Mapping[str, Model],
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_texts: int = MAX_TEXTS,
    max_tokens_per_text: int = MAX_TOKENS_PER_TEXT,
    batch_window_ms: float = BATCH_WINDOW_MS,
    max_batch_sentences: int = MAX_BATCH_SENTENCES,
) -> Starlette:
    """A Starlette app serving ``models`` (name -> loaded model) under ``/models/{name}/predict``.

    ``max_body_bytes``, ``max_texts`` (sentences per request) and ``max_tokens_per_text`` bound one
    request (413 past them). ``batch_window_ms`` is how long a request may wait for others to share
    its model call, ``max_batch_sentences`` how many sentences one call takes at most. The batching
    workers start and stop with the app's lifespan, which the ASGI server runs (uvicorn does; for
    starlette's TestClient use it as a context manager).
    """
    if not models:
        raise BabeltagError("no models to serve")
    for name in models:
        if not MODEL_NAME.fullmatch(name):
            raise BabeltagError(
                f"model name {name!r}: use letters, digits, '.', '_' and '-' (it goes into URLs)"
            )
    limits = Limits(max_body_bytes, max_texts, max_tokens_per_text)
    batchers = {
        name: Batcher(name, model, batch_window_ms, max_batch_sentences) for name, model in models.items()
    }
    served = ", ".join(batchers)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": list(batchers)})

    async def list_models(request: Request) -> Response:
        return JSONResponse({"models": [describe(name, model) for name, model in models.items()]})

    async def predict(request: Request) -> Response:
        if "name" in request.path_params:
            name = request.path_params["name"]
            if name not in batchers:
                raise RequestError(404, f"no model named {_shorten(name)!r}; this server serves: {served}")
        elif len(batchers) == 1:
            [name] = batchers
        else:
            raise RequestError(
                404,
                f"POST /predict needs exactly one served model; use /models/{{name}}/predict with one of: {served}",
            )
        batcher = batchers[name]
        sentences = await read_sentences(request, batcher.model, limits)
        try:
            results = await batcher.predict(sentences)
        except RequestError:
            raise
        except BabeltagError as error:  # the model refused this input, with a message for people
            raise RequestError(422, str(error)) from error
        return JSONResponse({"results": results})

    async def request_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestError)
        return _error(error.status, error.message)

    async def http_error(request: Request, error: Exception) -> Response:
        # the router's own answers (no such path, wrong method), in the same JSON shape as ours
        assert isinstance(error, HTTPException)
        headers = error.headers
        if error.status_code == 404:
            message = f"no endpoint {_shorten(request.url.path)}; the endpoints are {ENDPOINTS}"
        elif error.status_code == 405:
            allowed = {key.lower(): value for key, value in (headers or {}).items()}.get("allow", "")
            methods = " or ".join(sorted(method.strip() for method in allowed.split(",")))  # a set
            message = f"{request.method} is not allowed on {_shorten(request.url.path)}; use {methods}"
        else:
            message = str(error.detail)
        return _error(error.status_code, message, headers)

    async def server_error(request: Request, error: Exception) -> Response:
        # a bug, not a bad request: the server logs the traceback (starlette re-raises it to uvicorn)
        return _error(500, "internal server error (the server's log has the details)")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for batcher in batchers.values():
            batcher.start()
        try:
            yield
        finally:
            # the server has stopped taking requests; the ones already queued are answered first
            await asyncio.gather(*(batcher.close() for batcher in batchers.values()))

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/models", list_models, methods=["GET"]),
            Route("/models/{name}/predict", predict, methods=["POST"]),
            Route("/predict", predict, methods=["POST"]),
        ],
        exception_handlers={RequestError: request_error, HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.batchers = batchers  # for a look at the queues (tests, monitoring)
    return app


# ---------------------------------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------------------------------


def model_paths(specs: Sequence[str]) -> dict[str, Path]:
    """``PATH`` or ``NAME=PATH`` arguments -> name -> model directory.

    A bare path is served under its run folder's name: ``runs/ner/model`` as ``ner`` (a path not
    ending in ``model`` under its own name). Two models with one name are an error.
    """
    paths: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or "/" in name:  # a path that happens to contain '=' is still a path
            name, path = "", spec
        if not path:
            raise BabeltagError(f"{spec!r}: expected PATH or NAME=PATH")
        folder = Path(path)
        if not name:
            resolved = folder.resolve()
            name = resolved.parent.name if resolved.name == "model" else resolved.name
        if not MODEL_NAME.fullmatch(name):
            raise BabeltagError(
                f"{spec!r}: model name {name!r} must be letters, digits, '.', '_' and '-'; "
                "name it with NAME=PATH"
            )
        if name in paths:
            raise BabeltagError(
                f"two models named {name!r} ({paths[name]} and {folder}); give each its own with NAME=PATH"
            )
        paths[name] = folder
    return paths


def load_models(paths: Mapping[str, str | Path], device: str = "cpu") -> dict[str, Model]:
    from babeltag.api import load

    return {name: load(path, device=device) for name, path in paths.items()}


def make_server(
    models: Mapping[str, Model],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    threads: int | None = None,
    access_log: bool = True,
    **settings: Any,
) -> uvicorn.Server:
    """The uvicorn server of :func:`serve`, not started: ``run()`` serves until ``should_exit`` is
    set (which another thread may do). ``threads`` sets torch's threads (within one model call);
    ``settings`` go to :func:`create_app`."""
    try:
        import uvicorn
    except ImportError as error:
        raise BabeltagError(
            f"the HTTP service needs uvicorn ({error}): pip install 'babeltag[serve]'"
        ) from error
    if threads is not None:
        if threads < 1:
            raise BabeltagError(f"--threads must be at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)
    app = create_app(models, **settings)
    config = uvicorn.Config(app, host=host, port=port, access_log=access_log, lifespan="on")
    return uvicorn.Server(config)


def serve(models: Mapping[str, Model], **options: Any) -> None:
    """Serve ``models`` until interrupted (Ctrl-C or SIGTERM: requests in flight and queued are
    answered first). ``options`` are those of :func:`make_server`."""
    server = make_server(models, **options)
    config = server.config
    for name, model in models.items():
        print(
            f"babeltag: serving {model!r} at http://{config.host}:{config.port}/models/{name}/predict",
            file=sys.stderr,
        )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it has handled
        server.run()
    if not server.started:  # e.g. the port is taken; uvicorn has logged why
        raise BabeltagError(f"the server did not start on {config.host}:{config.port} (see the log above)")
