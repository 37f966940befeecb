"""A trained model on disk: a directory anyone can inspect, loadable without unpickling code.

    model_dir/
      model.safetensors   weights (safetensors: tensors only, no code)
      config.yaml         the resolved configuration the model was built from
      vocab.json          words, characters and labels (per sharing group, for a multi-dataset model)
      meta.json           format version, babeltag version, kind, metrics and training facts
      subword_encoder/    with a subword encoder: its settings and tokenizer (the weights are in
                          model.safetensors), so the model loads without the folder it came from

A multi-dataset model is saved as its shared parts (each tensor once) and loaded back as a whole,
or as the model of one of its datasets (``load_model(dir, dataset="ner_nl")``), which evaluation
and prediction use exactly like a single-task model.

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
from babeltag.config import ExperimentConfig, MultiTaskConfig, dump_config, parse_any_config
from babeltag.data.batching import Vocabularies
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.data.vocab import Vocabulary
from babeltag.errors import ModelArchiveError
from babeltag.models.build import build_model, subword_pieces
from babeltag.models.build_multitask import build_for_config
from babeltag.models.model import TaskModel
from babeltag.models.multitask import MultiTaskModel

FORMAT_VERSION = 1
FILES = ("model.safetensors", "config.yaml", "vocab.json", "meta.json")
SUBWORD_FOLDER = "subword_encoder"


@dataclass
class LoadedModel:
    """A model for one (task, language), with the config and vocabularies to read its data."""

    model: TaskModel
    config: ExperimentConfig
    vocabularies: Vocabularies
    meta: dict[str, Any]
    dataset: str | None = None  # its name inside a multi-dataset model


@dataclass
class LoadedMultiTaskModel:
    model: MultiTaskModel
    config: MultiTaskConfig
    vocabularies: SharedVocabularies
    meta: dict[str, Any]

    def select(self, dataset: str | None = None) -> LoadedModel:
        """One dataset's model (default: the first target)."""
        name = dataset or self.config.targets()[0]
        if name not in self.config.datasets:
            raise ModelArchiveError(
                f"this model has no dataset {name!r}; it has {', '.join(self.config.datasets)}"
            )
        return LoadedModel(
            self.model.views[name],
            self.config.dataset_view(name),
            self.vocabularies.of(name),
            self.meta,
            dataset=name,
        )


def save_model(
    directory: str | Path,
    model: TaskModel | MultiTaskModel,
    config: ExperimentConfig | MultiTaskConfig,
    vocabularies: Vocabularies | SharedVocabularies,
    meta: dict[str, Any] | None = None,
    subword_source: str | Path | None = None,
) -> Path:
    """``subword_source``: where the subword encoder's files are (default: the config's path)."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        # safetensors refuses tensors that share memory; contiguous clones are cheap at this size
        state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
        save_file(state, str(staging / "model.safetensors"))
        (staging / "config.yaml").write_text(dump_config(config), encoding="utf-8")
        if isinstance(vocabularies, SharedVocabularies):
            vocab = vocabularies.to_json()
        else:
            vocab = {name: getattr(vocabularies, name).to_json() for name in ("words", "chars", "labels")}
        (staging / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        full_meta = {
            "format_version": FORMAT_VERSION,
            "babeltag_version": babeltag.__version__,
            "kind": "multitask" if isinstance(model, MultiTaskModel) else "single",
            **(meta or {}),
        }
        (staging / "meta.json").write_text(json.dumps(full_meta, indent=2), encoding="utf-8")
        if config.model.subword_encoder.type != "none":
            copy_subword_encoder(config, staging / SUBWORD_FOLDER, subword_source)
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


def load_any_model(directory: str | Path) -> LoadedModel | LoadedMultiTaskModel:
    """A saved model as it was trained: single-task, or multi-dataset with all its datasets."""
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
    config = parse_any_config(raw_config, str(directory / "config.yaml"))
    vocab = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
    # the weights come from the archive: do not read pretrained vector files again
    loaded: LoadedModel | LoadedMultiTaskModel
    if isinstance(config, MultiTaskConfig):
        shared = SharedVocabularies.from_json(vocab)
        subwords = directory / SUBWORD_FOLDER if config.model.subword_encoder.type != "none" else None
        shared.pieces = subword_pieces(config.model.subword_encoder, subwords)
        multi = build_for_config(config, shared, subword_path=subwords, subword_weights=False)
        loaded = LoadedMultiTaskModel(multi, config, shared, meta)
    else:
        words, chars, labels = (Vocabulary.from_json(vocab[name]) for name in ("words", "chars", "labels"))
        subwords = directory / SUBWORD_FOLDER if config.model.subword_encoder.type != "none" else None
        vocabularies = Vocabularies(
            words, chars, labels, subword_pieces(config.model.subword_encoder, subwords)
        )
        config_without_vectors = config.model_copy(deep=True)
        config_without_vectors.model.word_embedding.pretrained = None
        model = build_model(
            config_without_vectors, vocabularies, subword_path=subwords, subword_weights=False
        )
        loaded = LoadedModel(model, config, vocabularies, meta)
    state = load_file(str(directory / "model.safetensors"))
    try:
        loaded.model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ModelArchiveError(f"{directory}: weights do not match the saved config: {error}") from None
    loaded.model.eval()
    return loaded


def load_model(directory: str | Path, dataset: str | None = None) -> LoadedModel:
    """The model of one (task, language): a single-task model, or one dataset's model inside a
    multi-dataset one (``dataset``; default its first target)."""
    return select_dataset(load_any_model(directory), dataset, directory)


def select_dataset(
    loaded: LoadedModel | LoadedMultiTaskModel, dataset: str | None, directory: str | Path
) -> LoadedModel:
    """One dataset's model of a loaded archive (see :func:`load_model`)."""
    if isinstance(loaded, LoadedMultiTaskModel):
        return loaded.select(dataset)
    if dataset is not None:
        raise ModelArchiveError(f"{directory}: a single-task model has no datasets to choose from")
    return loaded


def copy_subword_encoder(
    config: ExperimentConfig | MultiTaskConfig, target: Path, source: str | Path | None = None
) -> None:
    """Our encoder: its settings and vocabulary (weights are in model.safetensors). A Hugging Face
    folder: all of it, since ``from_pretrained`` wants weights to build the model from."""
    settings = config.model.subword_encoder
    folder = Path(source or settings.path or "")
    if settings.type == "huggingface":
        shutil.copytree(folder, target)
        return
    target.mkdir(parents=True)
    shutil.copy2(folder / "encoder.json", target / "encoder.json")
    shutil.copy2(folder / "subwords.json", target / "subwords.json")
