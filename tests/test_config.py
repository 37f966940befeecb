from pathlib import Path
from typing import Any

import pytest
import yaml

from babeltag.config import (
    RECIPE_SHARING,
    ExperimentConfig,
    MultiTaskConfig,
    dump_config,
    load_any_config,
    load_config,
    parse_any_config,
    parse_config,
)
from babeltag.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data\.formt: unknown key"):
        parse_config({"data": {"language": "en", "formt": "conllu"}})


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        parse_config({"data": {"language": "en"}, "training": {"epochs": "many"}})


def test_head_must_fit_the_data() -> None:
    with pytest.raises(ConfigError, match="classifier"):
        parse_config({"data": {"language": "en", "format": "csv"}, "model": {"head": {"type": "crf"}}})
    with pytest.raises(ConfigError, match="train_scheme"):
        parse_config({"data": {"language": "en"}, "model": {"train_scheme": "bioes"}})


def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: {language: en}\n")
    config = load_config(path, ["training.epochs=3", "model.char_encoder.widths=[3, 4]"])
    assert config.training.epochs == 3 and config.model.char_encoder.widths == [3, 4]
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["training.epochs"])


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path: Path) -> None:
    load_config(path)


# --- multi-dataset configs --------------------------------------------------------------------


def multi(**datasets: dict[str, Any]) -> dict[str, Any]:
    """A ``datasets:`` config: an NER target in en and a POS auxiliary, changed by ``datasets``."""
    base: dict[str, dict[str, Any]] = {
        "ner_en": {
            "role": "target",
            "task": "ner",
            "language": "en",
            "format": "conll",
            "tag_scheme": "iob2",
        },
        "pos_en": {"task": "upos", "language": "en"},
    }
    for name, changes in datasets.items():
        base[name] = {**base.get(name, {}), **changes}
    return {"datasets": base}


def test_a_datasets_config_is_multi_task_and_a_data_config_single() -> None:
    assert isinstance(parse_any_config(multi()), MultiTaskConfig)
    assert isinstance(parse_any_config({"data": {"language": "en"}}), ExperimentConfig)
    with pytest.raises(ConfigError, match="either data .* or datasets .*, not both"):
        parse_any_config({**multi(), "data": {"language": "en"}})


def test_a_multi_dataset_config_needs_a_target() -> None:
    with pytest.raises(ConfigError, match="no dataset has role: target"):
        parse_any_config(multi(ner_en={"role": "auxiliary"}))
    with pytest.raises(ConfigError, match="at least one dataset"):
        parse_any_config({"datasets": {}})


def test_one_sample_size_per_dataset() -> None:
    with pytest.raises(
        ConfigError, match=r"datasets\.ner_en: give labelled_sentences or labelling_rate, not both"
    ):
        parse_any_config(multi(ner_en={"labelled_sentences": 10, "labelling_rate": 0.5}))
    with pytest.raises(ConfigError, match=r"datasets\.ner_en\.labelling_rate"):
        parse_any_config(multi(ner_en={"labelling_rate": 1.5}))


@pytest.mark.parametrize("name", ["ner.en", "ner en", "ner/en", ""])
def test_dataset_names_are_plain(name: str) -> None:
    raw = multi()
    raw["datasets"][name] = raw["datasets"].pop("pos_en")
    with pytest.raises(ConfigError, match="names may use letters, digits, _ and - only"):
        parse_any_config(raw)


def test_dataset_keys_and_loss_weights_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"datasets\.pos_en\.formt: unknown key"):
        parse_any_config(multi(pos_en={"formt": "conllu"}))
    with pytest.raises(ConfigError, match=r"datasets\.pos_en: loss_weight must be >= 0"):
        parse_any_config(multi(pos_en={"loss_weight": -1}))
    with pytest.raises(ConfigError, match=r"datasets\.pos_en\.loss_weight"):
        parse_any_config(multi(pos_en={"loss_weight": "sizeratio"}))
    config = parse_any_config(multi(pos_en={"loss_weight": "size_ratio"}))
    assert isinstance(config, MultiTaskConfig) and config.datasets["pos_en"].loss_weight == "size_ratio"


def test_the_taggers_head_is_given_and_csv_datasets_get_a_classifier() -> None:
    with pytest.raises(ConfigError, match="model.head.type: give the taggers' head"):
        parse_any_config({**multi(), "model": {"head": {"type": "classifier"}}})
    config = parse_any_config(multi(sent_en={"task": "sentiment", "language": "en", "format": "csv"}))
    assert isinstance(config, MultiTaskConfig)
    assert config.dataset_view("sent_en").model.head.type == "classifier"
    assert config.dataset_view("sent_en").metric() == "accuracy"


def test_dataset_view_converts_span_tags_only() -> None:
    config = parse_any_config({**multi(), "model": {"train_scheme": "bioes"}})
    assert isinstance(config, MultiTaskConfig)
    assert config.dataset_view("ner_en").model.train_scheme == "bioes"
    pos = config.dataset_view("pos_en")
    assert pos.model.train_scheme == "same" and pos.data.tag_scheme == "none"
    assert config.model.train_scheme == "bioes"  # the view is a copy


@pytest.mark.parametrize("recipe", sorted(RECIPE_SHARING))
def test_a_recipe_fixes_the_sharing(recipe: str) -> None:
    config = parse_any_config({**multi(), "recipe": recipe})
    assert isinstance(config, MultiTaskConfig) and config.sharing == RECIPE_SHARING[recipe]
    # the saved config names the recipe's sharing, and reads back to the same config
    assert parse_any_config(yaml.safe_load(dump_config(config))) == config
    same = parse_any_config({**multi(), "recipe": recipe, "sharing": RECIPE_SHARING[recipe].model_dump()})
    assert same == config


def test_a_recipe_refuses_a_conflicting_sharing_section() -> None:
    with pytest.raises(ConfigError, match="recipe lin2018 fixes what is shared.*use recipe: generic"):
        parse_any_config({**multi(), "recipe": "lin2018", "sharing": {"word_encoder": "per_language"}})
    with pytest.raises(ConfigError, match="recipe yang2016 fixes what is shared"):
        parse_any_config({**multi(), "recipe": "yang2016", "sharing": {"chars": "per_script"}})


@pytest.mark.parametrize(
    ("recipe", "sharing"),
    [
        ("yang2016", {"output": "per_task"}),
        ("yang2016", {"word_encoder": "all"}),
        ("lin2018", {"private_output": "none"}),
    ],
)
def test_a_recipe_refuses_a_conflicting_sharing_section_of_default_values(
    recipe: str, sharing: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match=f"recipe {recipe} fixes what is shared"):
        parse_any_config({**multi(), "recipe": recipe, "sharing": sharing})


@pytest.mark.parametrize(
    "path",
    sorted(
        p for p in CONFIGS.glob("*/*.yaml") if "datasets" in yaml.safe_load(p.read_text(encoding="utf-8"))
    ),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_shipped_multi_dataset_configs_validate(path: Path) -> None:
    assert isinstance(load_any_config(path), MultiTaskConfig)
