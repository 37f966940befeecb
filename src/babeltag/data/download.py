"""Public corpora -> the shared-data layout in a local cache: ``babeltag data download``.

The cache directory *is* a data directory: after ``download(resolve("ud", treebank="UD_Dutch-Alpino"))``
it holds ``ud/nl/nl_alpino-ud-{train,dev,test}.conllu.gz`` exactly where ``../shared/data`` has them,
so configs written for the shared data run unchanged with ``--data-dir <cache>``. Layout::

    <cache>/ud/<code>/...            one directory per (corpus, language), as in the shared data
    <cache>/ner/<code>/...           ...with a marker .babeltag-<key>.json per dataset in it
    <cache>/wikiann/<code>/...
    <cache>/checksums.json           sha256 recorded on first use of each unpinned URL (see below)
    <cache>/downloads/<filename>     verified source archives, reused by other datasets; deletable
    <cache>/staging/                 work in progress; removed when a download ends, however it ends

How a download stays all-or-nothing
-----------------------------------
Each source file is streamed into a fresh directory under ``staging/`` while its sha256 is computed.
A short body (fewer bytes than ``Content-Length``), a broken connection or a wrong checksum raises
:class:`DownloadError`, and the staging directory is deleted: nothing half-written is left and the
next call starts clean. The archive is then unpacked (refusing members with absolute paths or
``..``), arranged into the dataset's directory inside staging, data files gzip-compressed as in the
shared data (licences and READMEs stay plain text), and a marker listing the sha256 of every
source and every installed file is written beside them. Only then is the prepared directory
renamed into place. A dataset whose marker matches and whose files all match their recorded sha256
is "present": no request is made.

Several datasets can share a directory (two Dutch treebanks both live in ``ud/nl``). The prepared
directory then also receives (hard links to) the other datasets' files before it replaces the old
one, so installing one never disturbs another; the replacement is two renames (old aside, new in),
the only moment the directory is absent. Run one download at a time per cache.

Checksums: pinned or trusted on first use
-----------------------------------------
A :class:`Source` with a ``sha256`` is pinned: any other content is refused. Some sources cannot be
pinned in advance (GitHub generates UD tag archives on request; the WikiANN archive lives on
Dropbox), so their ``sha256`` is ``None``: the first download is accepted, its hash is printed and
recorded in ``<cache>/checksums.json``, and every later download of that URL must match the record.
If a source legitimately changes, delete its line from ``checksums.json`` and download again.

Mirrors
-------
``base_url`` replaces the scheme and host of every URL and keeps its path (and query):
``https://github.com/UniversalDependencies/UD_Dutch-Alpino/archive/refs/tags/r2.13.tar.gz`` with
``base_url="https://mirror.example.org/corpora"`` is fetched from
``https://mirror.example.org/corpora/UniversalDependencies/UD_Dutch-Alpino/archive/refs/tags/r2.13.tar.gz``
(``file:///path`` works for a local copy). Checksums are still checked against the original URL's pin
or record, so a mirror cannot change the data. The tests point ``base_url`` at a local HTTP server.
"""

from __future__ import annotations

import contextlib
import difflib
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

from tqdm import tqdm

from babeltag import __version__
from babeltag.errors import BabeltagError, ConfigError


class DownloadError(BabeltagError):
    """A download that failed or was refused. Names the URL; nothing of it is left in the cache."""


@dataclass(frozen=True)
class Source:
    """One downloadable file. ``sha256=None``: not pinned, trusted on first use (module docstring)."""

    url: str
    sha256: str | None
    filename: str  # its name in <cache>/downloads; unique per content, shared where datasets share it


#: ``layout(downloads, out)``: the downloaded files (by :attr:`Source.filename`) -> the contents of the
#: dataset's directory, written into ``out`` (an empty staging directory).
Layout = Callable[[Mapping[str, Path], Path], None]


@dataclass(frozen=True)
class Dataset:
    """What the user asks for: where it comes from, where it goes, and how to cite it."""

    name: str
    description: str
    citation: str
    licence: str
    files: tuple[Source, ...]
    directory: str  # relative to the data directory, e.g. "ud/nl"
    layout: Layout | None  # None when not redistributable
    key: str  # names the marker, .babeltag-<key>.json; one per dataset in a shared directory
    redistributable: bool = True
    instructions: str = ""  # how to get it by hand, for a dataset that is not redistributable
    expected: tuple[str, ...] = ()  # files (in ``directory``) that a by-hand dataset must provide


@dataclass(frozen=True)
class DownloadResult:
    """Where a dataset is. ``status``: ``"installed"`` (written by this call), ``"present"`` (it was
    already complete; nothing was requested) or ``"manual"`` (not redistributable: see
    ``dataset.instructions``; ``missing`` lists what is still to be put in place)."""

    dataset: Dataset
    data_dir: Path  # pass as --data-dir
    directory: Path
    files: tuple[Path, ...]
    status: str
    fetched: tuple[str, ...] = ()  # URLs requested over the network by this call
    trusted: tuple[tuple[str, str], ...] = ()  # (url, sha256) recorded on first use by this call
    missing: tuple[Path, ...] = ()

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def citation(self) -> str:
        return self.dataset.citation

    def report(self) -> str:
        """What ``babeltag data download`` prints: where the files are, how to use and cite them."""
        dataset = self.dataset
        if self.status == "manual" and self.missing:
            instructions = dataset.instructions.replace("<cache>", str(self.data_dir))
            return f"{dataset.name} cannot be downloaded automatically.\n\n{instructions}"
        how = {
            "installed": "downloaded" if self.fetched else "unpacked from files already downloaded",
            "present": "already present",
            "manual": "in place",
        }[self.status]
        lines = [f"{dataset.name}: {how}, in {self.directory}"]
        lines += [f"  {path.relative_to(self.data_dir).as_posix()}" for path in self.files]
        lines += [
            "",
            f"Use it with --data-dir {self.data_dir} (configs name files relative to it, as above).",
            f"Licence: {dataset.licence}",
            "Please cite:",
            *(f"  {line}" for line in dataset.citation.splitlines()),
        ]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------------------------------

KINDS = ("ud", "conll2002", "conll2003", "wikiann")
_OPTIONS = {
    "ud": ("treebank", "version"),
    "conll2002": ("lang",),
    "conll2003": ("lang",),
    "wikiann": ("lang",),
}
DEFAULT_UD_VERSION = "2.13"

#: treebank -> (language code, licence). The treebanks of the shared data (Kim et al. 2017's source
#: and targets), Dutch's second treebank, and the Parallel UD test sets (installed in ``ud-pud/``).
#: Licences as their README states them at the shared data's snapshot; the archive's LICENSE.txt,
#: copied beside the files, is the authority for the version you download.
UD_TREEBANKS: dict[str, tuple[str, str]] = {
    "UD_English-EWT": ("en", "CC BY-SA 4.0"),
    "UD_Swedish-Talbanken": ("sv", "CC BY-SA 4.0"),
    "UD_Danish-DDT": ("da", "CC BY-SA 4.0"),
    "UD_Dutch-Alpino": ("nl", "CC BY-SA 4.0"),
    "UD_Dutch-LassySmall": ("nl", "CC BY-SA 4.0"),
    "UD_German-GSD": ("de", "CC BY-SA 4.0"),
    "UD_Slovenian-SSJ": ("sl", "CC BY-SA 4.0"),
    "UD_Polish-LFG": ("pl", "GNU GPL 3.0"),
    "UD_Slovak-SNK": ("sk", "CC BY-SA 4.0"),
    "UD_Bulgarian-BTB": ("bg", "CC BY-NC-SA 3.0 (non-commercial)"),
    "UD_Romanian-RRT": ("ro", "CC BY-SA 4.0"),
    "UD_Portuguese-Bosque": ("pt", "CC BY-SA 4.0"),
    "UD_Italian-ISDT": ("it", "CC BY-NC-SA 3.0 (non-commercial)"),
    "UD_Spanish-GSD": ("es", "CC BY-SA 4.0"),
    "UD_Persian-Seraji": ("fa", "CC BY-SA 4.0"),
    "UD_Hungarian-Szeged": ("hu", "CC BY-NC-SA 3.0 (non-commercial)"),
    **{
        f"UD_{language}-PUD": (code, licence)
        for language, code, licence in [
            ("Arabic", "ar", "CC BY-SA 3.0"),
            ("Chinese", "zh", "CC BY-SA 3.0"),
            ("Czech", "cs", "CC BY-SA 4.0"),
            ("English", "en", "CC BY-SA 3.0"),
            ("Finnish", "fi", "CC BY-SA 4.0"),
            ("French", "fr", "CC BY-SA 3.0"),
            ("German", "de", "CC BY-SA 3.0"),
            ("Hindi", "hi", "CC BY-SA 3.0"),
            ("Icelandic", "is", "CC BY-SA 4.0"),
            ("Indonesian", "id", "CC BY-SA 3.0"),
            ("Italian", "it", "CC BY-SA 3.0"),
            ("Korean", "ko", "CC BY-SA 3.0"),
            ("Polish", "pl", "CC BY-SA 4.0"),
            ("Portuguese", "pt", "CC BY-SA 3.0"),
            ("Russian", "ru", "CC BY-SA 3.0"),
            ("Spanish", "es", "CC BY-SA 3.0"),
            ("Swedish", "sv", "CC BY-SA 4.0"),
            ("Thai", "th", "CC BY-SA 3.0"),
            ("Turkish", "tr", "CC BY-SA 3.0"),
        ]
    },
}

#: LINDAT handles of UD releases, for the citation (others: https://universaldependencies.org/).
_UD_RELEASE_HANDLES = {"2.13": "http://hdl.handle.net/11234/1-5287"}

#: NLTK's copy of CoNLL-2002, the URL NLTK's own downloader index gives. Unchanged since 2008 (NLTK's
#: index gives the same md5, 67bb4ca7...); its files are byte-identical to the shared data's ner/es,
#: ner/nl. Pinned: any other content is refused.
CONLL2002_SOURCE = Source(
    url="https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/conll2002.zip",
    sha256="64440e49236d0d393e08e0b266284966d68e2d2a82a50cc41b8e96d98c03b5c8",
    filename="nltk-conll2002.zip",
)
_CONLL2002 = {  # lang -> (name, {file in the zip: file in ner/<lang>/})
    "es": ("Spanish", {"esp.train": "train.txt.gz", "esp.testa": "dev.txt.gz", "esp.testb": "test.txt.gz"}),
    "nl": ("Dutch", {"ned.train": "train.txt.gz", "ned.testa": "dev.txt.gz", "ned.testb": "test.txt.gz"}),
}

#: Rahimi et al.'s WikiANN splits, all languages in one tar of ``<lang>.tar.gz`` archives, at the
#: Dropbox address the authors' README (github.com/afshinrahimi/mmner) gives for scripted downloads
#: and the XTREME and Hugging Face loaders used. Not versioned, so not pinned: trust on first use.
WIKIANN_SOURCE = Source(
    url="https://www.dropbox.com/s/12h3qqog6q4bjve/panx_dataset.tar?dl=1",
    sha256=None,
    filename="panx_dataset.tar",
)
#: The 176 languages of the Rahimi et al. (2019) splits (codes as in panx_dataset.tar).
WIKIANN_LANGUAGES = tuple(
    """ace af als am an ang ar arc arz as ast ay az ba bar bat-smg be be-x-old bg bh bn bo br bs ca
    cbk-zam cdo ce ceb ckb co crh cs csb cv cy da de diq dv el eml en eo es et eu ext fa fi fiu-vro fo
    fr frr fur fy ga gan gd gl gn gu hak he hi hr hsb hu hy ia id ig ilo io is it ja jbo jv ka kk km kn
    ko ksh ku ky la lb li lij lmo ln lt lv map-bms mg mhr mi min mk ml mn mr ms mt mwl my mzn nap nds ne
    nl nn no nov oc or os pa pdc pl pms pnb ps pt qu rm ro ru rw sa sah scn sco sd sh si simple sk sl so
    sq sr su sv sw szl ta te tg th tk tl tr tt ug uk ur uz vec vep vi vls vo wa war wuu xmf yi yo zea zh
    zh-classical zh-min-nan zh-yue""".split()  # noqa: SIM905 (176 codes read better as text)
)

_WIKIANN_CITATION = (
    "Xiaoman Pan, Boliang Zhang, Jonathan May, Joel Nothman, Kevin Knight and Heng Ji. 2017. "
    "Cross-lingual Name Tagging and Linking for 282 Languages. In Proceedings of ACL 2017, pages "
    "1946-1958.\n"
    "Afshin Rahimi, Yuan Li and Trevor Cohn. 2019. Massively Multilingual Transfer for NER. In "
    "Proceedings of ACL 2019, pages 151-164. (the train/dev/test splits)"
)


def resolve(kind: str, **options: str | None) -> Dataset:
    """The dataset a user names: ``resolve("ud", treebank="UD_Dutch-Alpino", version="2.13")``,
    ``resolve("conll2002", lang="es")``, ``resolve("conll2003", lang="en")``, ``resolve("wikiann",
    lang="nl")``. Options that are ``None`` count as not given (so a CLI can pass every flag through).
    Unknown kinds, treebanks, languages or options are :class:`ConfigError` listing the choices."""
    if kind not in _OPTIONS:
        raise ConfigError(f"unknown dataset {kind!r}; choose one of: {', '.join(KINDS)}")
    given = {name: value for name, value in options.items() if value is not None}
    unknown = sorted(set(given) - set(_OPTIONS[kind]))
    if unknown:
        allowed = ", ".join(_OPTIONS[kind])
        raise ConfigError(f"dataset {kind!r} takes no option {unknown[0]!r}; its options are: {allowed}")
    if kind == "ud":
        return _ud_dataset(given.get("treebank"), given.get("version", DEFAULT_UD_VERSION))
    if kind == "conll2002":
        return _conll2002_dataset(_choose("language", given.get("lang"), tuple(_CONLL2002), "lang"))
    if kind == "conll2003":
        return _conll2003_dataset(_choose("language", given.get("lang", "en"), ("en", "de"), "lang"))
    return _wikiann_dataset(_choose("language", given.get("lang"), WIKIANN_LANGUAGES, "lang"))


def _choose(what: str, value: str | None, choices: tuple[str, ...], option: str) -> str:
    if value is not None and value in choices:
        return value
    listed = ", ".join(choices)
    if value is None:
        raise ConfigError(f"choose a {what} with {option}=...; one of: {listed}")
    close = difflib.get_close_matches(value, choices, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown {what} {value!r}{hint}; choose one of: {listed}")


# --- Universal Dependencies --------------------------------------------------------------------------


def _ud_dataset(treebank: str | None, version: str) -> Dataset:
    by_folded = {name.lower().removeprefix("ud_"): name for name in UD_TREEBANKS}
    if treebank is not None:  # "ud_dutch-alpino" and "Dutch-Alpino" are UD_Dutch-Alpino
        treebank = by_folded.get(treebank.lower().removeprefix("ud_"), treebank)
    treebank = _choose("treebank", treebank, tuple(UD_TREEBANKS), "treebank")
    version = version.removeprefix("r")
    if not re.fullmatch(r"\d+\.\d+", version):
        raise ConfigError(f"UD version must look like 2.13, not {version!r}")
    code, licence = UD_TREEBANKS[treebank]
    pud = treebank.endswith("-PUD")
    directory = f"ud-pud/{code}" if pud else f"ud/{code}"
    url = f"https://github.com/UniversalDependencies/{treebank}/archive/refs/tags/r{version}.tar.gz"
    handle = _UD_RELEASE_HANDLES.get(version, "https://universaldependencies.org/ (release citations)")
    return Dataset(
        name=f"{treebank} (UD {version})",
        description=(
            f"{treebank} as released in Universal Dependencies {version}: the treebank's top-level "
            f"CoNLL-U files from its GitHub release tag r{version}, gzip-compressed, byte-for-byte "
            f"inside, into {directory}/ with its LICENSE and README beside them. GitHub builds tag "
            "archives on request, so the archive is trusted on first use rather than pinned."
        ),
        citation=(
            f"Daniel Zeman, Joakim Nivre et al. Universal Dependencies {version}. LINDAT/CLARIAH-CZ "
            f"digital library, Charles University. {handle}\n"
            "Marie-Catherine de Marneffe, Christopher D. Manning, Joakim Nivre and Daniel Zeman. 2021. "
            "Universal Dependencies. Computational Linguistics 47(2): 255-308.\n"
            f"and the treebank's own reference: see README-{treebank}.* beside the files."
        ),
        licence=f"{licence} (see the LICENSE file beside the data)",
        files=(Source(url=url, sha256=None, filename=f"{treebank}-r{version}.tar.gz"),),
        directory=directory,
        layout=_ud_layout(treebank, f"{treebank}-r{version}.tar.gz", pud),
        key=treebank,
    )


def _ud_layout(treebank: str, filename: str, pud: bool) -> Layout:
    def layout(downloads: Mapping[str, Path], out: Path) -> None:
        with _open_archive(downloads[filename]) as members:
            top = _strip_top_directory(members)
            conllu = sorted(name for name in top if "/" not in name and name.endswith(".conllu"))
            if not conllu:
                raise DownloadError(
                    f"{filename}: no .conllu files at the top of the archive (is it a UD treebank release?)"
                )
            for name in conllu:
                with top[name]() as source:
                    _write_gzip(source, out / f"{name}.gz")
            # ud-pud/ in the shared data has LICENSE.txt; ud/ has one LICENSE-<treebank>.txt per treebank
            if "LICENSE.txt" in top:
                licence_name = "LICENSE.txt" if pud else f"LICENSE-{treebank}.txt"
                _copy_member(top["LICENSE.txt"], out / licence_name)
            for readme in ("README.md", "README.txt"):
                if readme in top:
                    _copy_member(top[readme], out / f"README-{treebank}{Path(readme).suffix}")

    return layout


# --- CoNLL-2002 / CoNLL-2003 ---------------------------------------------------------------------------


def _conll2002_dataset(lang: str) -> Dataset:
    language, members = _CONLL2002[lang]
    return Dataset(
        name=f"CoNLL-2002 {language} NER",
        description=(
            f"CoNLL-2002 {language} named entities: train, dev (testa) and test (testb) into ner/{lang}/"
            "{train,dev,test}.txt.gz, one 'token POS tag' per line, IOB2, UTF-8, byte-for-byte the "
            "files of NLTK's copy (conll2002.zip from NLTK's data repository, pinned by sha256; the "
            "same files as the shared data). It is chosen over the task site "
            "(https://www.clips.uantwerpen.be/conll2002/ner/) because that has the ISO-8859-1 originals "
            "and, for Spanish, no POS column; NLTK's copy is UTF-8 with Carreras's Spanish POS tags."
        ),
        citation=(
            "Erik F. Tjong Kim Sang. 2002. Introduction to the CoNLL-2002 Shared Task: "
            "Language-Independent Named Entity Recognition. In Proceedings of CoNLL-2002, pages 155-158."
        ),
        licence=(
            "research use in the context of the CoNLL-2002 shared task only, no commercial use "
            "(README-conll2002.txt beside the files)"
        ),
        files=(CONLL2002_SOURCE,),
        directory=f"ner/{lang}",
        layout=_conll2002_layout(members),
        key=f"conll2002-{lang}",
    )


def _conll2002_layout(members: Mapping[str, str]) -> Layout:
    def layout(downloads: Mapping[str, Path], out: Path) -> None:
        path = downloads[CONLL2002_SOURCE.filename]
        with _open_archive(path) as archive:
            by_name = _by_basename(archive)
            for member, target in [*members.items(), ("README", "README-conll2002.txt")]:
                if member not in by_name:
                    raise DownloadError(f"{path.name}: no member {member!r} (is it NLTK's conll2002.zip?)")
                if target.endswith(".gz"):
                    with by_name[member]() as source:
                        _write_gzip(source, out / target)
                else:
                    _copy_member(by_name[member], out / target)

    return layout


def _conll2003_dataset(lang: str) -> Dataset:
    language, prefix, text = {
        "en": (
            "English",
            "eng",
            "the Reuters Corpus, Volume 1 (RCV1), which NIST distributes free of charge for research "
            "under an agreement with Reuters: https://trec.nist.gov/data/reuters/reuters.html",
        ),
        "de": (
            "German",
            "deu",
            "the Frankfurter Rundschau part of the ECI Multilingual Text corpus, LDC catalogue number "
            "LDC94T5 (https://catalog.ldc.upenn.edu/LDC94T5; an LDC licence, for a fee)",
        ),
    }[lang]
    encoding = (
        " (they are ISO-8859-1: do not convert them; configs read them with encoding: latin-1)"
        if lang == "de"
        else ""
    )
    instructions = (
        f"CoNLL-2003 {language} is not freely redistributable: the task released only the annotations, "
        "and the text belongs to its publisher. To build it:\n"
        f"  1. Get the text: {text}.\n"
        "  2. Get the annotations and scripts (ner.tgz) from the task page, "
        "https://www.clips.uantwerpen.be/conll2003/ner/, unpack it and run "
        f"bin/make.{prefix} from its ner/ directory (edit the corpus location at the top of the script "
        f"if it is not on a mounted CD). This writes {prefix}.train, {prefix}.testa and {prefix}.testb.\n"
        f"  3. Put them where configs expect them, gzip-compressed and otherwise unchanged{encoding}:\n"
        f"       mkdir -p <cache>/ner/{lang}\n"
        f"       gzip -c {prefix}.train > <cache>/ner/{lang}/train.txt.gz\n"
        f"       gzip -c {prefix}.testa > <cache>/ner/{lang}/dev.txt.gz\n"
        f"       gzip -c {prefix}.testb > <cache>/ner/{lang}/test.txt.gz\n"
        "     and run this command again to check that they are in place."
    )
    return Dataset(
        name=f"CoNLL-2003 {language} NER",
        description=(
            f"CoNLL-2003 {language} named entities (IOB1): ner/{lang}/{{train,dev,test}}.txt.gz from "
            f"{prefix}.train, {prefix}.testa and {prefix}.testb. Built by hand (see instructions)."
        ),
        citation=(
            "Erik F. Tjong Kim Sang and Fien De Meulder. 2003. Introduction to the CoNLL-2003 Shared "
            "Task: Language-Independent Named Entity Recognition. In Proceedings of CoNLL-2003, pages "
            "142-147."
        ),
        licence=f"annotations: University of Antwerp; text: {text.split(',')[0]}; not redistributable",
        files=(),
        directory=f"ner/{lang}",
        layout=None,
        key=f"conll2003-{lang}",
        redistributable=False,
        instructions=instructions,
        expected=("train.txt.gz", "dev.txt.gz", "test.txt.gz"),
    )


# --- WikiANN ---------------------------------------------------------------------------------------------


def _wikiann_dataset(lang: str) -> Dataset:
    return Dataset(
        name=f"WikiANN {lang} (Rahimi et al. 2019 splits)",
        description=(
            f"WikiANN (Pan et al. 2017) named entities for {lang!r} with the balanced train/dev/test "
            f"splits of Rahimi et al. (2019), into wikiann/{lang}/{{train,dev,test}}.tsv.gz: one "
            "'token TAB tag' per line, IOB2, PER/LOC/ORG, UTF-8. No stable, versioned address exists for "
            "these splits: the authors distribute one archive of all 176 languages, panx_dataset.tar, "
            "through a Dropbox link (used here, as by XTREME and the Hugging Face loader) and an Amazon "
            "Drive share that no longer exists; Hugging Face's unimelb-nlp/wikiann has the same splits "
            "only as Parquet. So the archive is trusted on first use and kept in <cache>/downloads, "
            "where further languages are unpacked from without a new download. The only change to "
            f"the files: each token's '{lang}:' prefix is removed, as in the XTREME copies that the "
            "shared data holds (readers' token_prefix is then a no-op). The shared data's bg train is "
            "cut to 10,000 sentences (train.first10000.tsv.gz); this train.tsv.gz is the whole file."
        ),
        citation=_WIKIANN_CITATION,
        licence="none stated by the sources; cite both papers",
        files=(WIKIANN_SOURCE,),
        directory=f"wikiann/{lang}",
        layout=_wikiann_layout(lang),
        key=f"wikiann-{lang}",
    )


def _wikiann_layout(lang: str) -> Layout:
    def layout(downloads: Mapping[str, Path], out: Path) -> None:
        path = downloads[WIKIANN_SOURCE.filename]
        inner_name = f"{lang}.tar.gz"
        with _open_archive(path) as archive:
            by_name = _by_basename(archive)
            if inner_name not in by_name:
                raise DownloadError(
                    f"{path.name}: no member {inner_name!r} (is it Rahimi et al.'s panx_dataset.tar?)"
                )
            with by_name[inner_name]() as handle:
                inner = io.BytesIO(handle.read())  # one language: a few MB
        with _open_archive(inner, name=inner_name) as splits:
            by_split = _by_basename(splits)
            for split in ("train", "dev", "test"):
                if split not in by_split:
                    raise DownloadError(f"{path.name}: {inner_name} has no member {split!r}")
                with by_split[split]() as source:
                    _write_gzip(source, out / f"{split}.tsv.gz", strip_prefix=f"{lang}:".encode())

    return layout


# ---------------------------------------------------------------------------------------------------
# Where, and how
# ---------------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """``$BABELTAG_CACHE``, else the platform's user cache directory / ``babeltag``: ``$XDG_CACHE_HOME``
    or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows."""
    explicit = os.environ.get("BABELTAG_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        base = Path(local) if local else Path.home() / "AppData" / "Local"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        # the XDG spec: a relative value is invalid and must be ignored
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "babeltag"


def mirror_url(url: str, base_url: str | None) -> str:
    """``url`` with its scheme and host replaced by ``base_url``'s; ``base_url``'s path is prepended to
    the URL's path, the query kept. ``mirror_url("https://github.com/a/b.tar.gz",
    "http://127.0.0.1:8000/m") == "http://127.0.0.1:8000/m/a/b.tar.gz"``."""
    if not base_url:
        return url
    base = _check_mirror(base_url)
    original = urllib.parse.urlsplit(url)
    query = "" if base.scheme == "file" else original.query
    return urllib.parse.urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + original.path, query, "")
    )


def _check_mirror(base_url: str) -> urllib.parse.SplitResult:
    base = urllib.parse.urlsplit(base_url)
    if base.scheme not in ("http", "https", "file") or (base.scheme != "file" and not base.netloc):
        raise ConfigError(
            f"mirror must be an http(s):// or file:// URL such as https://mirror.example.org/corpora, not {base_url!r}"
        )
    return base


MARKER_PREFIX = ".babeltag-"
CHECKSUMS = "checksums.json"
_CHUNK = 1 << 20
_TIMEOUT_S = 60
#: A staging directory nothing has written to for this long belongs to a process that was killed.
_STALE_AFTER_S = 3600


def download(
    dataset: Dataset,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: bool | None = None,
) -> DownloadResult:
    """Make ``dataset`` present in ``cache_dir`` (default :func:`default_cache_dir`) and say where.

    Nothing is requested when it is already complete. ``base_url`` fetches every file from a mirror
    (module docstring). ``progress``: a progress bar on stderr; ``None`` shows it only on a terminal.
    A failure is a :class:`DownloadError` that leaves the cache as it was. A dataset that is not redistributable is
    never downloaded: the result has status ``"manual"``, says which files are still missing, and
    ``dataset.instructions`` say how to make them.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    live = cache / dataset.directory
    if not dataset.redistributable or dataset.layout is None:
        expected = [live / name for name in dataset.expected]
        return DownloadResult(
            dataset=dataset,
            data_dir=cache,
            directory=live,
            files=tuple(path for path in expected if path.is_file()),
            status="manual",
            missing=tuple(path for path in expected if not path.is_file()),
        )
    if base_url:
        _check_mirror(base_url)  # a malformed mirror is an error before any work
    record = _read_checksums(cache)
    present = _complete_files(live, dataset, record)
    if present is not None:
        return DownloadResult(dataset, cache, live, present, status="present")

    staging = cache / "staging"
    staging.mkdir(parents=True, exist_ok=True)
    _remove_stale(staging)
    work = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=staging))
    try:
        inputs: dict[str, Path] = {}
        hashes: dict[str, str] = {}
        fetched: dict[str, Path] = {}
        for source in dataset.files:
            inputs[source.filename], hashes[source.url], was_fetched = _obtain(
                source, cache, work, record, base_url, progress
            )
            if was_fetched:
                fetched[source.filename] = inputs[source.filename]
        leaf = work / "new"
        leaf.mkdir()
        _run_layout(dataset, inputs, leaf, base_url)
        names = _write_marker(leaf, dataset, hashes)

        # Everything unpacked: install, then keep the downloads for reuse and record first-use hashes.
        _install(leaf, live, dataset, work)
        if fetched:
            (cache / "downloads").mkdir(exist_ok=True)
            for filename, path in fetched.items():
                os.replace(path, cache / "downloads" / filename)
        trusted = [(s.url, hashes[s.url]) for s in dataset.files if s.sha256 is None and s.url not in record]
        if trusted:
            _write_checksums(cache, {**record, **dict(trusted)})
            for url, digest in trusted:
                print(
                    f"babeltag: {url} has no pinned checksum; recorded its sha256 {digest} in "
                    f"{cache / CHECKSUMS} (trust on first use: later downloads must match it)",
                    file=sys.stderr,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only if empty: another download may be using it
    return DownloadResult(
        dataset,
        cache,
        live,
        tuple(live / name for name in names),
        status="installed",
        fetched=tuple(s.url for s in dataset.files if s.filename in fetched),
        trusted=tuple(trusted),
    )


# --- fetching ------------------------------------------------------------------------------------------


def _obtain(
    source: Source,
    cache: Path,
    work: Path,
    record: Mapping[str, str],
    base_url: str | None,
    progress: bool | None,
) -> tuple[Path, str, bool]:
    """A verified copy of ``source``: ``(path, sha256, fetched now)``. A kept download is reused when
    it matches the pin or the record; otherwise the file is fetched into ``work`` and checked."""
    expected = source.sha256 or record.get(source.url)
    kept = cache / "downloads" / source.filename
    if expected is not None and kept.is_file() and _sha256_file(kept) == expected:
        return kept, expected, False
    url = mirror_url(source.url, base_url)
    target = work / source.filename
    actual = _fetch(url, target, progress)
    if expected is not None and actual != expected:
        target.unlink()
        where = url if url == source.url else f"{url} (mirror of {source.url})"
        if source.sha256 is not None:
            why = (
                "The file differs from the one babeltag pins: the download was corrupted or the file "
                "was changed at the source. Nothing was kept; try again, or use --mirror with a good copy."
            )
        else:
            why = (
                f"The file differs from the one first downloaded into this cache (recorded in "
                f"{cache / CHECKSUMS}). Nothing was kept. If the source was legitimately updated, "
                "delete that URL's line from the file and download again."
            )
        raise DownloadError(f"{where}: checksum mismatch: expected sha256 {expected}, got {actual}. {why}")
    return target, actual, True


def _fetch(url: str, target: Path, progress: bool | None) -> str:
    """Stream ``url`` into ``target``; the sha256 of what arrived. Raises on anything short of the
    whole body (the caller's staging directory is removed with whatever was written)."""
    print(f"babeltag: downloading {url}", file=sys.stderr, flush=True)
    request = urllib.request.Request(url, headers={"User-Agent": f"babeltag/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as error:
        error.close()
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DownloadError(
            f"{url}: cannot connect ({error.reason}); check the network, or use --mirror with a copy"
        ) from None
    except (OSError, http.client.HTTPException) as error:
        raise DownloadError(f"{url}: cannot connect ({error})") from None
    digest = hashlib.sha256()
    received = 0
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = tqdm(
            total=total,
            desc=target.name,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            leave=False,
            disable=None if progress is None else not progress,
            dynamic_ncols=True,
        )
        try:
            with bar, open(target, "wb") as out:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        except (OSError, http.client.HTTPException) as error:
            # http.client.IncompleteRead (a cut chunked body), a reset, a timeout
            raise DownloadError(
                f"{url}: the connection broke after {received:,} bytes ({error!r}); nothing was kept, "
                "run the command again"
            ) from None
    # http.client returns b"" at an early close instead of raising, so compare with Content-Length
    if total is not None and received != total:
        raise DownloadError(
            f"{url}: the connection closed after {received:,} of {total:,} bytes; nothing was kept, "
            "run the command again"
        )
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- unpacking -----------------------------------------------------------------------------------------

Opener = Callable[[], IO[bytes]]


@contextlib.contextmanager
def _open_archive(source: Path | IO[bytes], name: str | None = None) -> Iterator[dict[str, Opener]]:
    """The regular files of a zip or tar (any compression), by their path inside the archive.

    Every member name is checked before anything is read: an absolute path or a ``..`` anywhere in the
    archive refuses the whole archive. Links and special files are left out (nothing here extracts to
    disk by member name, so they could do no harm, but no corpus needs them either)."""
    label = name or (source.name if isinstance(source, Path) else "archive")
    try:
        if _starts_with(source, b"PK"):  # by content, not by name: a mirror may rename files
            with zipfile.ZipFile(source) as archive:
                members: dict[str, Opener] = {}
                for info in archive.infolist():
                    path = _safe_member_name(info.filename, label)
                    is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
                    if path and not info.is_dir() and not is_link:
                        members[path] = _zip_opener(archive, info)
                yield members
            return
        with _open_tar(source) as tar:
            members = {}
            for member in tar.getmembers():
                path = _safe_member_name(member.name, label)
                if path and member.isfile():
                    members[path] = _tar_opener(tar, member, label)
            yield members
    except (tarfile.TarError, zipfile.BadZipFile) as error:
        raise DownloadError(
            f"{label}: not a readable tar or zip archive ({error}); the server may have sent an error "
            "page instead of the file"
        ) from None


def _open_tar(source: Path | IO[bytes]) -> tarfile.TarFile:
    if isinstance(source, Path):
        return tarfile.open(source, mode="r:*")
    source.seek(0)
    return tarfile.open(fileobj=source, mode="r:*")


def _starts_with(source: Path | IO[bytes], magic: bytes) -> bool:
    if isinstance(source, Path):
        with open(source, "rb") as handle:
            return handle.read(len(magic)) == magic
    source.seek(0)
    start = source.read(len(magic))
    source.seek(0)
    return start == magic


def _zip_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    return lambda: archive.open(info)


def _tar_opener(tar: tarfile.TarFile, member: tarfile.TarInfo, label: str) -> Opener:
    def opener() -> IO[bytes]:
        handle = tar.extractfile(member)
        if handle is None:
            raise DownloadError(f"{label}: cannot read member {member.name!r}")
        return handle

    return opener


def _safe_member_name(name: str, label: str) -> str:
    """``name`` as a clean relative POSIX path ("" for the archive's root entry), or DownloadError."""
    windows = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or windows.drive or windows.is_absolute():
        raise DownloadError(f"{label}: refusing the archive: member {name!r} has an absolute path")
    parts = [part for part in re.split(r"[/\\]", name) if part not in ("", ".")]
    if ".." in parts:
        raise DownloadError(f"{label}: refusing the archive: member {name!r} points outside it ('..')")
    return "/".join(parts)


def _strip_top_directory(members: Mapping[str, Opener]) -> dict[str, Opener]:
    """GitHub archives put everything under ``<repo>-<tag>/``; drop that one shared directory."""
    tops = {name.split("/", 1)[0] for name in members}
    if len(tops) == 1 and all("/" in name for name in members):
        return {name.split("/", 1)[1]: opener for name, opener in members.items()}
    return dict(members)


def _by_basename(members: Mapping[str, Opener]) -> dict[str, Opener]:
    """Members by file name, wherever they are in the archive (a mirror may repackage it). A name
    that occurs twice is taken from the first path in sorted order."""
    return {PurePosixPath(name).name: opener for name, opener in sorted(members.items(), reverse=True)}


def _write_gzip(source: IO[bytes], target: Path, strip_prefix: bytes | None = None) -> None:
    """``source`` gzip-compressed into ``target`` (mtime 0, so the same input gives the same bytes).
    ``strip_prefix`` is removed from the start of every line that has it."""
    with open(target, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        if strip_prefix is None:
            shutil.copyfileobj(source, out, _CHUNK)
        else:
            for line in source:
                out.write(line[len(strip_prefix) :] if line.startswith(strip_prefix) else line)


def _copy_member(opener: Opener, target: Path) -> None:
    with opener() as source, open(target, "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)


def _run_layout(dataset: Dataset, inputs: Mapping[str, Path], leaf: Path, base_url: str | None) -> None:
    assert dataset.layout is not None
    urls = ", ".join(mirror_url(source.url, base_url) for source in dataset.files)
    try:
        dataset.layout(inputs, leaf)
    except DownloadError as error:
        raise DownloadError(f"{error} (downloaded from {urls}; nothing was kept)") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError) as error:
        raise DownloadError(f"cannot unpack {urls}: {error}; nothing was kept") from None


# --- the cache's bookkeeping ------------------------------------------------------------------------------


def _marker(directory: Path, dataset: Dataset) -> Path:
    return directory / f"{MARKER_PREFIX}{dataset.key}.json"


def _write_marker(leaf: Path, dataset: Dataset, hashes: Mapping[str, str]) -> list[str]:
    """Write the marker listing the sources' and the files' sha256; the files' names, sorted."""
    files = {
        path.relative_to(leaf).as_posix(): _sha256_file(path)
        for path in sorted(leaf.rglob("*"))
        if path.is_file()
    }
    marker = {
        "dataset": dataset.name,
        "key": dataset.key,
        "sources": dict(hashes),
        "files": files,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "babeltag": __version__,
    }
    _marker(leaf, dataset).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return sorted(files)


def _read_marker(directory: Path, dataset: Dataset) -> dict[str, dict[str, str]] | None:
    try:
        marker = json.loads(_marker(directory, dataset).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict):
        return None
    sources, files = marker.get("sources"), marker.get("files")
    if not isinstance(sources, dict) or not isinstance(files, dict):
        return None
    return {"sources": sources, "files": files}


def _complete_files(live: Path, dataset: Dataset, record: Mapping[str, str]) -> tuple[Path, ...] | None:
    """The dataset's files if its marker matches its sources and every file its recorded sha256."""
    marker = _read_marker(live, dataset)
    if marker is None or set(marker["sources"]) != {source.url for source in dataset.files}:
        return None
    for source in dataset.files:
        expected = source.sha256 or record.get(source.url)
        if expected is not None and marker["sources"][source.url] != expected:
            return None
    for name, digest in marker["files"].items():
        path = live / name
        if not path.is_file() or _sha256_file(path) != digest:
            return None
    return tuple(live / name for name in sorted(marker["files"]))


def _install(leaf: Path, live: Path, dataset: Dataset, work: Path) -> None:
    """Rename the prepared ``leaf`` into place as ``live``. Files of other datasets (and anything
    else) already in ``live`` are carried over; this dataset's previous files are not."""
    if not live.exists():
        live.parent.mkdir(parents=True, exist_ok=True)
        os.rename(leaf, live)
        return
    previous = _read_marker(live, dataset)
    replaced = {entry.name for entry in leaf.iterdir()} | {_marker(live, dataset).name}
    replaced |= {name.split("/", 1)[0] for name in (previous["files"] if previous else {})}
    for entry in live.iterdir():
        if entry.name in replaced:
            continue
        if entry.is_dir():
            shutil.copytree(entry, leaf / entry.name, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, leaf / entry.name)
    old = work / "old"
    os.rename(live, old)
    try:
        os.rename(leaf, live)
    except BaseException:
        os.rename(old, live)
        raise


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _read_checksums(cache: Path) -> dict[str, str]:
    path = cache / CHECKSUMS
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DownloadError(
            f"{path}: cannot read the recorded checksums ({error}); fix or delete the file"
        ) from None
    if not isinstance(record, dict) or not all(isinstance(v, str) for v in record.values()):
        raise DownloadError(f"{path}: expected a JSON object of URL -> sha256; fix or delete the file")
    return record


def _write_checksums(cache: Path, record: Mapping[str, str]) -> None:
    """Write the record atomically: a temporary file beside it, then a rename."""
    path = cache / CHECKSUMS
    temporary = cache / f".{CHECKSUMS}.{os.getpid()}.{uuid.uuid4().hex}"
    try:
        with open(temporary, "x", encoding="utf-8") as out:
            json.dump(dict(sorted(record.items())), out, indent=2)
            out.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _remove_stale(staging: Path) -> None:
    """Remove work left by a killed process: staging entries nothing has written to for an hour."""
    now = time.time()
    for entry in staging.iterdir():
        try:
            paths = [entry, *entry.rglob("*")] if entry.is_dir() else [entry]
            newest = max(path.stat().st_mtime for path in paths)
            if now - newest <= _STALE_AFTER_S:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue  # being written or removed by someone else right now


__all__ = [
    "DEFAULT_UD_VERSION",
    "KINDS",
    "UD_TREEBANKS",
    "WIKIANN_LANGUAGES",
    "Dataset",
    "DownloadError",
    "DownloadResult",
    "Source",
    "default_cache_dir",
    "download",
    "mirror_url",
    "resolve",
]
