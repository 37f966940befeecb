"""babeltag.data.download against a local HTTP server: every corpus here is a tiny archive made by the
test, shaped like the real one (a UD tag archive, NLTK's conll2002.zip, Rahimi et al.'s panx tar)."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from babeltag.data.download import (
    CONLL2002_SOURCE,
    Dataset,
    DownloadError,
    default_cache_dir,
    download,
    mirror_url,
    resolve,
)
from babeltag.data.readers import read_conll, read_conllu
from babeltag.errors import BabeltagError, ConfigError

# --- a local server ---------------------------------------------------------------------------------


@dataclasses.dataclass
class Route:
    body: bytes
    mode: str = "ok"  # ok | corrupt | short (Content-Length > body) | chunked-cut (dies mid-chunk)


class FakeServer:
    """Serves ``routes`` by URL path; anything else is a 404. ``requests`` lists every path asked for."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.url = ""

    def serve(self, path: str, body: bytes, mode: str = "ok") -> None:
        self.routes[path] = Route(body, mode)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            state.requests.append(path)
            route = state.routes.get(path)
            if route is None:
                self.send_error(404)
                return
            body = route.body
            self.send_response(200)
            if route.mode == "chunked-cut":
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.write(b"%x\r\n" % len(body) + body[: len(body) // 2])
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if route.mode == "corrupt":
                body = body[:-1] + bytes([body[-1] ^ 0xFF])
            if route.mode == "short":
                body = body[: len(body) // 2]
                self.close_connection = True
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# --- archives shaped like the real ones ------------------------------------------------------------

UD_PATH = "/UniversalDependencies/UD_Dutch-Alpino/archive/refs/tags/r2.13.tar.gz"
CONLL2002_PATH = "/nltk/nltk_data/gh-pages/packages/corpora/conll2002.zip"
PANX_PATH = "/s/12h3qqog6q4bjve/panx_dataset.tar"


def conllu(word: str) -> bytes:
    rows = [
        ("1", "De", "de", "DET"),
        ("2", word, word.lower(), "NOUN"),
        ("3", "slaapt", "slapen", "VERB"),
    ]
    lines = ["# sent_id = 1", f"# text = De {word} slaapt"]
    lines += [
        "\t".join([i, form, lemma, upos, "_", "_", "0", "dep", "_", "_"]) for i, form, lemma, upos in rows
    ]
    return ("\n".join(lines) + "\n\n").encode()


def make_tar(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    # a pax global header, as `git archive` (and so GitHub) writes one
    with tarfile.open(
        fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT, pax_headers={"comment": "abc"}
    ) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if name.endswith("/"):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def ud_archive(
    treebank: str = "UD_Dutch-Alpino", prefix: str = "nl_alpino", word: str = "kat", **extra: bytes
) -> bytes:
    top = f"{treebank}-r2.13/"
    members = {top: b""}
    members.update({f"{top}{prefix}-ud-{split}.conllu": conllu(word) for split in ("train", "dev", "test")})
    members[f"{top}LICENSE.txt"] = b"CC BY-SA 4.0\n"
    members[f"{top}README.md"] = b"# Summary\n"
    members[f"{top}not-to-release/sources/a.conllu"] = conllu("hond")  # not a release file: left out
    members.update({f"{top}{name}": data for name, data in extra.items()})
    return make_tar(members)


CONLL2002_FILES = {
    "esp.train": "El DA O\nAbogado NC B-PER\nGeneral AQ I-PER\n\n",
    "esp.testa": "Madrid NC B-LOC\n\n",
    "esp.testb": "La DA O\nUE NC B-ORG\n\n",
    "ned.train": "-DOCSTART- -DOCSTART- O\nDe Art O\nkat N O\n\n",
    "ned.testa": "Brussel N B-LOC\n\n",
    "ned.testb": "Jan N B-PER\n\n",
    "README": "These files contain the train and test data\n",
}


def conll2002_zip(**changes: str) -> bytes:
    files = {**CONLL2002_FILES, **changes}
    return make_zip(
        {"conll2002/": b"", **{f"conll2002/{name}": text.encode() for name, text in files.items()}}
    )


def panx_tar() -> bytes:
    def language(code: str, word: str) -> bytes:
        split = f"{code}:{word}\tB-LOC\n{code}:ligt\tO\n\n".encode()
        return make_tar({"train": split, "dev": split, "test": split})

    return make_tar(
        {"nl.tar.gz": language("nl", "Amsterdam"), "en.tar.gz": language("en", "London")}, mode="w"
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pinned(dataset: Dataset, data: bytes) -> Dataset:
    """``dataset`` with its one source pinned to ``data``'s hash (the real pin is of the real file)."""
    (source,) = dataset.files
    return dataclasses.replace(dataset, files=(dataclasses.replace(source, sha256=sha256(data)),))


def files_under(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def alpino() -> Dataset:
    return resolve("ud", treebank="UD_Dutch-Alpino", version="2.13")


# --- success --------------------------------------------------------------------------------------


def test_ud_lands_in_the_shared_data_layout_and_is_read_by_the_readers(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = ud_archive()
    server.serve(UD_PATH, archive)
    cache = tmp_path / "cache"
    result = download(alpino(), cache, base_url=server.url, progress=False)

    assert result.status == "installed" and result.data_dir == cache and result.directory == cache / "ud/nl"
    assert result.fetched == (
        "https://github.com/UniversalDependencies/UD_Dutch-Alpino/archive/refs/tags/r2.13.tar.gz",
    )
    assert [p.relative_to(cache).as_posix() for p in result.files] == [
        "ud/nl/LICENSE-UD_Dutch-Alpino.txt",
        "ud/nl/README-UD_Dutch-Alpino.md",
        "ud/nl/nl_alpino-ud-dev.conllu.gz",
        "ud/nl/nl_alpino-ud-test.conllu.gz",
        "ud/nl/nl_alpino-ud-train.conllu.gz",
    ]
    dev = cache / "ud/nl/nl_alpino-ud-dev.conllu.gz"
    assert dev.read_bytes()[:2] == b"\x1f\x8b" and gzip.decompress(dev.read_bytes()) == conllu("kat")
    (sentence,) = read_conllu(dev, "nl", "upos")
    assert sentence.tokens == ["De", "kat", "slaapt"] and sentence.labels == ["DET", "NOUN", "VERB"]
    assert not (cache / "staging").exists()
    assert (cache / "downloads" / "UD_Dutch-Alpino-r2.13.tar.gz").read_bytes() == archive

    # unpinned: trusted on first use, recorded and printed
    recorded = json.loads((cache / "checksums.json").read_text())
    assert recorded == {result.fetched[0]: sha256(archive)}
    assert result.trusted == ((result.fetched[0], sha256(archive)),)
    assert sha256(archive) in capsys.readouterr().err
    report = result.report()
    assert f"--data-dir {cache}" in report and "ud/nl/nl_alpino-ud-dev.conllu.gz" in report
    assert "Universal Dependencies 2.13" in report and "11234/1-5287" in report

    # a second call finds it complete and asks for nothing
    again = download(alpino(), cache, base_url=server.url, progress=False)
    assert again.status == "present" and again.files == result.files and again.fetched == ()
    assert server.requests == [UD_PATH]


def test_conll2002_from_one_zip_for_both_languages(server: FakeServer, tmp_path: Path) -> None:
    data = conll2002_zip()
    server.serve(CONLL2002_PATH, data)
    cache = tmp_path / "cache"
    spanish = download(
        pinned(resolve("conll2002", lang="es"), data), cache, base_url=server.url, progress=False
    )

    assert files_under(cache / "ner/es") == [
        ".babeltag-conll2002-es.json",
        "README-conll2002.txt",
        "dev.txt.gz",
        "test.txt.gz",
        "train.txt.gz",
    ]
    assert (
        gzip.decompress((cache / "ner/es/train.txt.gz").read_bytes()) == CONLL2002_FILES["esp.train"].encode()
    )
    (example,) = read_conll(cache / "ner/es/train.txt.gz", "es", "ner")
    assert example.tokens == ["El", "Abogado", "General"] and example.labels == ["O", "B-PER", "I-PER"]
    assert spanish.trusted == ()  # pinned: nothing to record
    assert not (cache / "checksums.json").exists()

    # Dutch comes from the same zip, kept in downloads/: no second request
    dutch = download(
        pinned(resolve("conll2002", lang="nl"), data), cache, base_url=server.url, progress=False
    )
    assert dutch.status == "installed" and dutch.fetched == ()
    (example,) = read_conll(cache / "ner/nl/train.txt.gz", "nl", "ner")
    assert example.tokens == ["De", "kat"]
    assert server.requests == [CONLL2002_PATH]


def test_wikiann_drops_the_language_prefix_and_reuses_the_archive(server: FakeServer, tmp_path: Path) -> None:
    server.serve(PANX_PATH, panx_tar())
    cache = tmp_path / "cache"
    download(resolve("wikiann", lang="nl"), cache, base_url=server.url, progress=False)
    download(resolve("wikiann", lang="en"), cache, base_url=server.url, progress=False)

    for code, word in [("nl", "Amsterdam"), ("en", "London")]:
        for split in ("train", "dev", "test"):
            path = cache / f"wikiann/{code}/{split}.tsv.gz"
            assert gzip.decompress(path.read_bytes()) == f"{word}\tB-LOC\nligt\tO\n\n".encode()
            (example,) = read_conll(path, code, "ner", separator="\t")
            assert example.tokens == [word, "ligt"]
    assert server.requests == [PANX_PATH]


def test_two_treebanks_share_a_directory(server: FakeServer, tmp_path: Path) -> None:
    server.serve(UD_PATH, ud_archive())
    lassy_path = UD_PATH.replace("UD_Dutch-Alpino", "UD_Dutch-LassySmall")
    server.serve(lassy_path, ud_archive("UD_Dutch-LassySmall", "nl_lassysmall", word="hond"))
    cache = tmp_path / "cache"
    download(alpino(), cache, base_url=server.url, progress=False)
    lassy = download(resolve("ud", treebank="dutch-lassysmall"), cache, base_url=server.url, progress=False)

    assert lassy.dataset.name == "UD_Dutch-LassySmall (UD 2.13)"
    names = files_under(cache / "ud/nl")
    assert "nl_alpino-ud-dev.conllu.gz" in names and "nl_lassysmall-ud-dev.conllu.gz" in names
    assert ".babeltag-UD_Dutch-Alpino.json" in names and ".babeltag-UD_Dutch-LassySmall.json" in names
    assert download(alpino(), cache, base_url=server.url, progress=False).status == "present"
    assert server.requests == [UD_PATH, lassy_path]

    # another release of Alpino replaces Alpino's files (here: one fewer) and leaves LassySmall's alone
    newer_path = UD_PATH.replace("r2.13", "r2.14")
    newer = make_tar({"UD_Dutch-Alpino-r2.14/nl_alpino-ud-dev.conllu": conllu("muis")})
    server.serve(newer_path, newer)
    download(resolve("ud", treebank="UD_Dutch-Alpino", version="2.14"), cache, base_url=server.url)
    names = files_under(cache / "ud/nl")
    assert "nl_alpino-ud-train.conllu.gz" not in names and "LICENSE-UD_Dutch-Alpino.txt" not in names
    assert gzip.decompress((cache / "ud/nl/nl_alpino-ud-dev.conllu.gz").read_bytes()) == conllu("muis")
    assert download(lassy.dataset, cache, base_url=server.url).status == "present"
    assert download(alpino(), cache, base_url=server.url).status == "installed"  # 2.13 again, from downloads/
    assert server.requests == [UD_PATH, lassy_path, newer_path]


# --- failures leave nothing behind --------------------------------------------------------------------


def test_pinned_checksum_mismatch_keeps_nothing(server: FakeServer, tmp_path: Path) -> None:
    data = conll2002_zip()
    server.serve(CONLL2002_PATH, data, mode="corrupt")
    cache = tmp_path / "cache"
    dataset = pinned(resolve("conll2002", lang="es"), data)
    with pytest.raises(DownloadError) as caught:
        download(dataset, cache, base_url=server.url, progress=False)
    message = str(caught.value)
    assert f"{server.url}{CONLL2002_PATH}" in message and CONLL2002_SOURCE.url in message
    assert f"expected sha256 {sha256(data)}" in message
    assert f"got {sha256(data[:-1] + bytes([data[-1] ^ 0xFF]))}" in message
    assert files_under(cache) == []


def test_the_real_pin_refuses_other_content(server: FakeServer, tmp_path: Path) -> None:
    server.serve(CONLL2002_PATH, conll2002_zip())
    with pytest.raises(DownloadError, match=f"expected sha256 {CONLL2002_SOURCE.sha256}"):
        download(resolve("conll2002", lang="es"), tmp_path / "cache", base_url=server.url, progress=False)
    assert files_under(tmp_path / "cache") == []


def test_a_failed_update_leaves_the_complete_copy_untouched(server: FakeServer, tmp_path: Path) -> None:
    data = conll2002_zip()
    server.serve(CONLL2002_PATH, data)
    cache = tmp_path / "cache"
    download(pinned(resolve("conll2002", lang="es"), data), cache, base_url=server.url, progress=False)
    before = {name: (cache / name).read_bytes() for name in files_under(cache)}

    # a new pin (as after a babeltag upgrade) that the served file does not match
    newer = pinned(resolve("conll2002", lang="es"), conll2002_zip(**{"esp.train": "Otro DA O\n\n"}))
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download(newer, cache, base_url=server.url, progress=False)
    assert {name: (cache / name).read_bytes() for name in files_under(cache)} == before


@pytest.mark.parametrize("mode", ["short", "chunked-cut"])
def test_an_interrupted_download_keeps_nothing_and_a_retry_succeeds(
    server: FakeServer, tmp_path: Path, mode: str
) -> None:
    archive = ud_archive()
    server.serve(UD_PATH, archive, mode=mode)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=f"{server.url}{UD_PATH}: the connection"):
        download(alpino(), cache, base_url=server.url, progress=False)
    assert files_under(cache) == []  # no partial file, no checksum recorded for it

    server.serve(UD_PATH, archive)
    result = download(alpino(), cache, base_url=server.url, progress=False)
    assert result.status == "installed"
    assert json.loads((cache / "checksums.json").read_text()) == {result.fetched[0]: sha256(archive)}


def test_http_404_names_the_url_and_status(server: FakeServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=f"{server.url}{UD_PATH}: HTTP 404"):
        download(alpino(), tmp_path / "cache", base_url=server.url, progress=False)
    assert files_under(tmp_path / "cache") == []


def test_trust_on_first_use_refuses_a_changed_file(server: FakeServer, tmp_path: Path) -> None:
    first = ud_archive()
    server.serve(UD_PATH, first)
    cache = tmp_path / "cache"
    download(alpino(), cache, base_url=server.url, progress=False)
    checksums = (cache / "checksums.json").read_text()

    # the files are lost, and meanwhile the source serves something else
    for path in (
        cache / "ud/nl/nl_alpino-ud-dev.conllu.gz",
        cache / "downloads/UD_Dutch-Alpino-r2.13.tar.gz",
    ):
        path.unlink()
    server.serve(UD_PATH, ud_archive(word="muis"))
    with pytest.raises(DownloadError) as caught:
        download(alpino(), cache, base_url=server.url, progress=False)
    assert f"expected sha256 {sha256(first)}" in str(caught.value) and "checksums.json" in str(caught.value)
    assert (cache / "checksums.json").read_text() == checksums
    assert not (cache / "ud/nl/nl_alpino-ud-dev.conllu.gz").exists()
    assert not (cache / "staging").exists()


@pytest.mark.parametrize(
    "member", ["../../evil.conllu", "UD_Dutch-Alpino-r2.13/../../evil.conllu", "/tmp/evil.conllu"]
)
def test_an_archive_with_a_member_outside_it_is_refused(
    server: FakeServer, tmp_path: Path, member: str
) -> None:
    archive = make_tar({"UD_Dutch-Alpino-r2.13/nl_alpino-ud-dev.conllu": conllu("kat"), member: b"x"})
    server.serve(UD_PATH, archive)
    cache = tmp_path / "work" / "cache"
    with pytest.raises(DownloadError, match="refusing the archive"):
        download(alpino(), cache, base_url=server.url, progress=False)
    assert files_under(tmp_path) == []  # nothing unpacked anywhere, and no checksum trusted


def test_a_zip_with_an_absolute_member_is_refused(server: FakeServer, tmp_path: Path) -> None:
    data = make_zip({"conll2002/esp.train": b"x\n", "/etc/evil": b"x"})
    server.serve(CONLL2002_PATH, data)
    with pytest.raises(DownloadError, match="absolute path"):
        download(pinned(resolve("conll2002", lang="es"), data), tmp_path / "cache", base_url=server.url)
    assert files_under(tmp_path / "cache") == []


def test_an_error_page_instead_of_an_archive(server: FakeServer, tmp_path: Path) -> None:
    server.serve(UD_PATH, b"<html>rate limited</html>")
    with pytest.raises(DownloadError, match="not a readable tar or zip archive"):
        download(alpino(), tmp_path / "cache", base_url=server.url, progress=False)
    assert files_under(tmp_path / "cache") == []


def test_work_left_by_a_killed_process_is_cleared(server: FakeServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    stale = cache / "staging" / "123-old"
    stale.mkdir(parents=True)
    (stale / "UD_Dutch-Alpino-r2.13.tar.gz").write_bytes(b"half")
    hours_ago = time.time() - 3 * 3600
    for path in (stale / "UD_Dutch-Alpino-r2.13.tar.gz", stale):
        os.utime(path, (hours_ago, hours_ago))
    server.serve(UD_PATH, ud_archive())
    download(alpino(), cache, base_url=server.url, progress=False)
    assert not (cache / "staging").exists()


# --- not redistributable ------------------------------------------------------------------------------


def test_conll2003_gives_instructions_not_a_download(server: FakeServer, tmp_path: Path) -> None:
    dataset = resolve("conll2003")
    assert not dataset.redistributable and dataset.files == ()
    cache = tmp_path / "cache"
    result = download(dataset, cache, base_url=server.url)
    assert result.status == "manual" and not result.ready
    assert [p.relative_to(cache).as_posix() for p in result.missing] == [
        "ner/en/train.txt.gz",
        "ner/en/dev.txt.gz",
        "ner/en/test.txt.gz",
    ]
    report = result.report()
    assert (
        "not freely redistributable" in report
        and f"gzip -c eng.train > {cache}/ner/en/train.txt.gz" in report
    )
    assert "trec.nist.gov" in report and server.requests == [] and not cache.exists()

    (cache / "ner/en").mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (cache / f"ner/en/{split}.txt.gz").write_bytes(gzip.compress(b"EU NNP B-NP I-ORG\n\n"))
    done = download(dataset, cache)
    assert done.ready and len(done.files) == 3 and "Tjong Kim Sang" in done.report()
    assert "latin-1" in resolve("conll2003", lang="de").instructions


# --- choosing, and where ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "options", "expected"),
    [
        ("penn", {}, "unknown dataset 'penn'; choose one of: ud, conll2002, conll2003, wikiann"),
        ("ud", {"treebank": "UD_Dutch-Alpinoo"}, "did you mean 'UD_Dutch-Alpino'?"),
        ("ud", {}, "choose a treebank with treebank=...; one of: UD_English-EWT"),
        ("ud", {"treebank": "UD_Dutch-Alpino", "version": "latest"}, "UD version must look like 2.13"),
        ("ud", {"treebank": "UD_Dutch-Alpino", "lang": "nl"}, "its options are: treebank, version"),
        ("conll2002", {"lang": "en"}, "unknown language 'en'; choose one of: es, nl"),
        ("conll2003", {"lang": "fr"}, "choose one of: en, de"),
        ("wikiann", {"lang": "xx"}, "choose one of: ace, af,"),
    ],
)
def test_unknown_choices_are_config_errors_that_list_the_choices(
    kind: str, options: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(kind, **options)
    assert expected in str(caught.value)
    assert isinstance(caught.value, BabeltagError)


def test_resolve_names_the_real_sources() -> None:
    ud = resolve("ud", treebank="UD_English-PUD", version="r2.14", lang=None)
    assert (
        ud.files[0].url
        == "https://github.com/UniversalDependencies/UD_English-PUD/archive/refs/tags/r2.14.tar.gz"
    )
    assert ud.directory == "ud-pud/en" and ud.files[0].sha256 is None
    assert resolve("conll2002", lang="nl").files[0].sha256 == CONLL2002_SOURCE.sha256
    wikiann = resolve("wikiann", lang="sl")
    assert (
        wikiann.directory == "wikiann/sl"
        and "Rahimi" in wikiann.citation
        and "Dropbox" in wikiann.description
    )


def test_mirror_replaces_the_host_and_keeps_the_path() -> None:
    url = "https://www.dropbox.com/s/abc/panx_dataset.tar?dl=1"
    assert mirror_url(url, None) == url
    assert mirror_url(url, "http://127.0.0.1:8000") == "http://127.0.0.1:8000/s/abc/panx_dataset.tar?dl=1"
    assert (
        mirror_url(url, "https://m.example.org/corpora/")
        == "https://m.example.org/corpora/s/abc/panx_dataset.tar?dl=1"
    )
    assert mirror_url(url, "file:///srv/mirror") == "file:///srv/mirror/s/abc/panx_dataset.tar"
    with pytest.raises(ConfigError, match="mirror must be"):
        mirror_url(url, "mirror.example.org")


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    monkeypatch.setenv("BABELTAG_CACHE", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("BABELTAG_CACHE")
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "babeltag"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "babeltag"
    monkeypatch.setattr("sys.platform", "darwin")
    assert default_cache_dir() == tmp_path / "home" / "Library" / "Caches" / "babeltag"
    monkeypatch.setattr("sys.platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert default_cache_dir() == tmp_path / "local" / "babeltag"
