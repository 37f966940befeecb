"""Shared fixtures. All corpora here are SYNTHETIC (babeltag.data.synthetic): small, seeded, offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from babeltag.data.synthetic import LanguageSpec, make_language_family, write_corpus

#: Sentences per split in the synthetic data directory: enough to exercise every reader path, small
#: enough that a test using it costs a fraction of a second.
SYNTHETIC_SIZES = {"train": 60, "dev": 20, "test": 20}


@pytest.fixture(scope="session")
def synthetic_languages() -> dict[str, LanguageSpec]:
    """``source``, ``related`` (a daughter of source), ``related_cyrillic`` and ``unrelated``."""
    return make_language_family(seed=0)


@pytest.fixture
def synthetic_data_dir(tmp_path: Path, synthetic_languages: dict[str, LanguageSpec]) -> Path:
    """A data directory laid out like the real one, for every synthetic language ``<code>``:
    ``ud/<code>/{train,dev,test}.conllu`` (UPOS, with multiword tokens),
    ``ner/<code>/{train,dev,test}.txt`` (``token UPOS NER``, IOB2, ``-DOCSTART-`` lines) and
    ``cls/<code>/{train,dev,test}.csv`` (``label,text``, labels "positive"/"negative")."""
    root = tmp_path / "data"
    write_corpus(root, list(synthetic_languages.values()), sizes=SYNTHETIC_SIZES, seed=0)
    return root


def real_data_dir() -> Path:
    """Where the real corpora are: ``$BABELTAG_DATA_DIR``, else ``../shared/data`` beside the repository.
    Tests that need them skip when a file is missing."""
    if "BABELTAG_DATA_DIR" in os.environ:
        return Path(os.environ["BABELTAG_DATA_DIR"])
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def real_file():
    """``real_file("ud/en/en_ewt-ud-train.conllu.gz")`` -> its path, or skip the test if it is absent."""

    def find(relative: str) -> Path:
        path = real_data_dir() / relative
        if not path.is_file():
            pytest.skip(f"real data file {path} not present")
        return path

    return find
