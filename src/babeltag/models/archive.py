"""A trained model on disk: a directory anyone can inspect, loadable without unpickling code.

    model_dir/
      model.safetensors   weights (safetensors: tensors only, no code)
      config.yaml         the resolved configuration the model was built from
      vocab.json          words, characters and labels
      meta.json           format version, babeltag version, metrics and training facts

The directory is written under a temporary name and renamed, so a crash never leaves half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from safetensors.torch import load_file, save_file

import babeltag
from babeltag.config import ExperimentConfig, dump_config, parse_config
from babeltag.data.batching import Vocabularies
from babeltag.data.vocab import Vocabulary
from babeltag.errors import ModelArchiveError
from babeltag.models.build import build_model
from babeltag.models.model import TaskModel

FORMAT_VERSION = 1
FILES = ("model.safetensors", "config.yaml", "vocab.json", "meta.json")


@dataclass
class LoadedModel:
    model: TaskModel
    config: ExperimentConfig
    vocabularies: Vocabularies
    meta: dict[str, Any]


def save_model(
    directory: str | Path,
    model: TaskModel,
    config: ExperimentConfig,
    vocabularies: Vocabularies,
    meta: dict[str, Any] | None = None,
) -> Path:
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        # safetensors refuses tensors that share memory; contiguous clones are cheap at this size
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(staging / "model.safetensors"))
        (staging / "config.yaml").write_text(dump_config(config), encoding="utf-8")
        vocab = {name: getattr(vocabularies, name).to_json() for name in ("words", "chars", "labels")}
        (staging / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        full_meta = {
            "format_version": FORMAT_VERSION,
            "babeltag_version": babeltag.__version__,
            **(meta or {}),
        }
        (staging / "meta.json").write_text(json.dumps(full_meta, indent=2), encoding="utf-8")
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
            os.replace(staging, directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory


def load_model(directory: str | Path) -> LoadedModel:
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelArchiveError(f"{directory}: not a model directory")
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise ModelArchiveError(f"{directory}: not a babeltag model, missing {', '.join(missing)}")
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelArchiveError(
            f"{directory}: model format version {meta.get('format_version')!r}, this babeltag reads {FORMAT_VERSION}"
        )
    raw_config = yaml.safe_load((directory / "config.yaml").read_text(encoding="utf-8"))
    config = parse_config(raw_config, str(directory / "config.yaml"))
    vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    vocabularies = Vocabularies(
        **{name: Vocabulary.from_json(vocab[name]) for name in ("words", "chars", "labels")}
    )
    # the weights come from the archive: do not read the pretrained vector file again
    config_without_vectors = config.model_copy(deep=True)
    config_without_vectors.model.word_embedding.pretrained = None
    model = build_model(config_without_vectors, vocabularies)
    state = load_file(str(directory / "model.safetensors"))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelArchiveError(f"{directory}: weights do not match the saved config: {error}") from None
    model.eval()
    return LoadedModel(model, config, vocabularies, meta)
