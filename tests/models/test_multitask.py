"""Multi-dataset models: parts are built once per sharing group and every dataset's model is wired
from the same instances, so a step on one dataset moves exactly the parts it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from babeltag.config import RECIPE_SHARING, MultiTaskConfig, OptimizerConfig, parse_multitask_config
from babeltag.data.batching import Batch, TensorDataset
from babeltag.data.datasets import normaliser_of, read_split
from babeltag.data.example import Example
from babeltag.data.scripts import dominant_script
from babeltag.data.shared_vocab import SharedVocabularies, build_shared_vocabularies
from babeltag.data.synthetic import LanguageSpec, write_corpus
from babeltag.errors import ConfigError
from babeltag.heads.classifier import ClassifierHead
from babeltag.heads.gated import GatedOutput
from babeltag.models.build_multitask import (
    build_for_config,
    build_multitask_model,
    check_output_groups,
    part_groups,
)
from babeltag.models.multitask import MultiTaskModel
from babeltag.training.optim import make_optimizer

TINY_MODEL: dict[str, Any] = {
    "word_embedding": {"dim": 8},
    "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [3], "filters": 4},
    "word_encoder": {"hidden": 8},
    "head": {"type": "crf"},
    "dropout": 0.0,
}

#: Lin et al. 2018's sharing, spelled out for the generic builder
GATED = {
    "chars": "all",
    "word_embedding": "per_language",
    "word_encoder": "all",
    "output": "per_task",
    "private_output": "per_dataset",
}


def ner(language: str, role: str = "auxiliary") -> dict[str, Any]:
    return {
        "role": role,
        "task": "ner",
        "language": language,
        "format": "conll",
        "train": f"ner/{language}/train.txt",
        "tag_scheme": "iob2",
    }


def pos(language: str) -> dict[str, Any]:
    return {"task": "upos", "language": language, "format": "conllu", "train": f"ud/{language}/train.conllu"}


def sentiment(language: str) -> dict[str, Any]:
    return {"task": "sentiment", "language": language, "format": "csv", "train": f"cls/{language}/train.csv"}


def multitask(datasets: dict[str, dict[str, Any]], **sections: Any) -> MultiTaskConfig:
    model = {**TINY_MODEL, **sections.pop("model", {})}
    return parse_multitask_config({"datasets": datasets, "model": model, **sections})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_languages: dict[str, LanguageSpec]) -> Path:
    root = tmp_path_factory.mktemp("multitask") / "data"
    write_corpus(root, list(synthetic_languages.values()), sizes={"train": 60, "dev": 5, "test": 5}, seed=0)
    return root


def build(
    config: MultiTaskConfig, data_dir: Path, seed: int = 0
) -> tuple[MultiTaskModel, SharedVocabularies, dict[str, list[Example]]]:
    """What train_multitask does up to the model: read, group, count, build."""
    train = {name: read_split(entry.single(), "train", data_dir) for name, entry in config.datasets.items()}
    scripts = {
        name: dominant_script(t for e in examples for t in e.tokens) for name, examples in train.items()
    }
    groups = part_groups(config, scripts)
    check_output_groups(config, groups)
    vocabularies = build_shared_vocabularies(
        train, groups, {name: normaliser_of(config.dataset_view(name)) for name in train}
    )
    torch.manual_seed(seed)
    return build_for_config(config, vocabularies), vocabularies, train


def batch_of(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, train: dict[str, list[Example]], name: str
) -> Batch:
    kind = "sentence" if config.datasets[name].kind == "classification" else "token"
    data = TensorDataset(train[name], vocabularies.of(name), normaliser_of(config.dataset_view(name)), kind)
    return data.batch(range(8))


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def changed(model: torch.nn.Module, before: dict[str, torch.Tensor]) -> set[str]:
    return {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}


def module_of(parameter_name: str) -> str:
    """``head.projection.private.weight`` -> ``head.projection.private``; ``word_encoder.rnn.x`` -> ``word_encoder``."""
    parts = parameter_name.split(".")
    depth = 3 if parameter_name.startswith("head.projection.") else 2 if parts[0] == "head" else 1
    return ".".join(parts[:depth])


def test_a_step_on_one_dataset_moves_its_parts_and_no_other_dataset_private_parts(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "ner_rel": ner("syn_rel"), "pos_rel": pos("syn_rel")},
        sharing=GATED,
    )
    model, vocabularies, train = build(config, data_dir)
    a, b, c = (model.views[name] for name in ("ner_src", "ner_rel", "pos_rel"))
    parts = model.parts

    # sharing is identity: the views hold the part instances themselves
    assert a.char_features is b.char_features is c.char_features is parts["chars/all"]
    assert a.word_encoder is b.word_encoder is c.word_encoder is parts["word_encoder/all"]
    assert b.word_embedding is c.word_embedding is parts["word_embedding/syn_rel"]
    assert a.word_embedding is parts["word_embedding/syn_src"]
    gated = {name: view.head.projection for name, view in model.views.items()}  # type: ignore[union-attr]
    assert all(isinstance(g, GatedOutput) for g in gated.values())
    assert gated["ner_src"].shared is gated["ner_rel"].shared is parts["output/ner"]
    assert gated["pos_rel"].shared is parts["output/upos"]
    assert a.head.crf is b.head.crf is parts["crf/ner"]  # type: ignore[union-attr]
    assert c.head.crf is parts["crf/upos"]  # type: ignore[union-attr]
    for name, g in gated.items():
        assert g.private is parts[f"private/{name}"] and g.gate is parts[f"gate/{name}"]
    assert sorted(parts) == sorted(
        ["chars/all", "word_embedding/syn_src", "word_embedding/syn_rel", "word_encoder/all"]
        + ["output/ner", "output/upos", "crf/ner", "crf/upos"]
        + [f"{kind}/{name}" for kind in ("private", "gate") for name in ("ner_src", "ner_rel", "pos_rel")]
    )

    # saved once: only the parts are registered, and each shared tensor has one key
    state = model.state_dict()
    assert all(key.startswith("parts.") for key in state)
    distinct = {id(t) for view in model.views.values() for t in view.state_dict(keep_vars=True).values()}
    assert len(state) == len(distinct)

    # one SGD step on ner_src only
    before_parts = {name: snapshot(part) for name, part in parts.items()}
    before_b = snapshot(b)
    optimizer = make_optimizer(model.parameters(), OptimizerConfig(type="sgd", lr=0.5))
    optimizer.zero_grad(set_to_none=True)
    losses = model([("ner_src", batch_of(config, vocabularies, train, "ner_src"))])
    assert set(losses) == {"ner_src"}
    losses["ner_src"].backward()
    optimizer.step()

    moved = {name for name, part in parts.items() if changed(part, before_parts[name])}
    assert moved == set(model.part_names_of("ner_src"))
    assert moved == {
        "chars/all",
        "word_embedding/syn_src",
        "word_encoder/all",
        "output/ner",
        "crf/ner",
        "private/ner_src",
        "gate/ner_src",
    }
    # ner_rel's model sees the shared tensors move, and keeps its own words, private layer and gate
    assert {module_of(name) for name in changed(b, before_b)} == {
        "char_features",
        "word_encoder",
        "head.projection.shared",
        "head.crf",
    }


def test_train_and_eval_reach_the_views_own_dropout(data_dir: Path) -> None:
    config = multitask({"ner_src": ner("syn_src", "target"), "pos_src": pos("syn_src")})
    model, _, _ = build(config, data_dir)
    model.eval()
    assert not any(m.training for view in model.views.values() for m in view.modules())
    model.train()
    assert all(view.dropout.training and view.input_dropout.training for view in model.views.values())


def test_per_script_characters_give_cyrillic_its_own_encoder(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "ner_cyrl": ner("syn_rel_cyrl"), "pos_rel": pos("syn_rel")},
        sharing={"chars": "per_script"},
    )
    model, vocabularies, train = build(config, data_dir)
    views, parts = model.views, model.parts
    assert {name for name in parts if name.startswith("chars/")} == {"chars/latin", "chars/cyrillic"}
    assert views["ner_src"].char_features is views["pos_rel"].char_features is parts["chars/latin"]
    assert views["ner_cyrl"].char_features is parts["chars/cyrillic"]
    assert {name: vocabularies.groups[name]["chars"] for name in views} == {
        "ner_src": "latin",
        "ner_cyrl": "cyrillic",
        "pos_rel": "latin",
    }
    assert "д" in vocabularies.chars["cyrillic"].stoi and "д" not in vocabularies.chars["latin"].stoi
    assert "a" in vocabularies.chars["latin"].stoi and "a" not in vocabularies.chars["cyrillic"].stoi
    # the word encoder is still shared by all, so a Cyrillic step leaves only the Latin characters alone
    before = snapshot(parts["chars/latin"])
    optimizer = make_optimizer(model.parameters(), OptimizerConfig(type="sgd", lr=0.5))
    model([("ner_cyrl", batch_of(config, vocabularies, train, "ner_cyrl"))])["ner_cyrl"].backward()
    optimizer.step()
    assert not changed(parts["chars/latin"], before)
    assert set(model.part_names_of("ner_cyrl")) >= {"chars/cyrillic", "word_encoder/all"}


def test_yang2016_shares_chars_by_all_and_word_parts_by_language(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "ner_rel": ner("syn_rel"), "pos_rel": pos("syn_rel")},
        recipe="yang2016",
        model={
            "char_encoder": {"type": "gru", "char_dim": 4, "hidden": 4},
            "word_encoder": {"type": "gru", "hidden": 8},
        },
    )
    assert config.sharing == RECIPE_SHARING["yang2016"]
    model, _, _ = build(config, data_dir)
    views, parts = model.views, model.parts
    a, b, c = views["ner_src"], views["ner_rel"], views["pos_rel"]
    assert a.char_features is b.char_features is c.char_features is parts["chars/all"]
    # tasks of one language share the word level
    assert b.word_embedding is c.word_embedding is parts["word_embedding/syn_rel"]
    assert b.word_encoder is c.word_encoder is parts["word_encoder/syn_rel"]
    # one task in two languages shares only the characters
    assert (
        a.word_embedding is parts["word_embedding/syn_src"]
        and a.word_encoder is parts["word_encoder/syn_src"]
    )
    assert a.word_encoder is not b.word_encoder
    # every dataset has its own output layer and CRF
    for name, view in views.items():
        assert view.head.projection is parts[f"output/{name}"]  # type: ignore[union-attr]
        assert view.head.crf is parts[f"crf/{name}"]  # type: ignore[union-attr]
    assert a.head.crf is not b.head.crf  # type: ignore[union-attr]
    assert not any(name.startswith(("private/", "gate/")) for name in parts)


def test_lin2018_shares_one_bilstm_and_an_output_per_task_with_gated_private_layers(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "ner_rel": ner("syn_rel"), "pos_rel": pos("syn_rel")},
        recipe="lin2018",
        model={"char_encoder": {**TINY_MODEL["char_encoder"], "highway_layers": 1}},
    )
    assert config.sharing == RECIPE_SHARING["lin2018"]
    model, _, _ = build(config, data_dir)
    views, parts = model.views, model.parts
    a, b, c = views["ner_src"], views["ner_rel"], views["pos_rel"]
    assert a.word_encoder is b.word_encoder is c.word_encoder is parts["word_encoder/all"]
    assert all(layer.kind == "lstm" for layer in parts["word_encoder/all"].layers)  # type: ignore[union-attr]
    assert a.char_features is b.char_features is c.char_features is parts["chars/all"]
    assert b.word_embedding is c.word_embedding is not a.word_embedding
    gated = {name: view.head.projection for name, view in views.items()}  # type: ignore[union-attr]
    assert gated["ner_src"].shared is gated["ner_rel"].shared is parts["output/ner"]
    assert gated["pos_rel"].shared is parts["output/upos"]
    assert a.head.crf is b.head.crf is parts["crf/ner"] and c.head.crf is parts["crf/upos"]  # type: ignore[union-attr]
    for name, g in gated.items():
        assert g.private is parts[f"private/{name}"] and g.gate is parts[f"gate/{name}"]
    assert len({id(g.private) for g in gated.values()}) == 3


@pytest.mark.parametrize(
    ("recipe", "model"),
    [
        (
            "lin2018",
            {"char_encoder": {**TINY_MODEL["char_encoder"], "highway_layers": 1}},
        ),
        (
            "yang2016",
            {
                "char_encoder": {"type": "gru", "char_dim": 4, "hidden": 4},
                "word_encoder": {"type": "gru", "hidden": 8},
            },
        ),
    ],
)
def test_a_recipe_wires_what_its_sharing_says(recipe: str, model: dict[str, Any], data_dir: Path) -> None:
    """The paper's builder and the generic builder given the recipe's sharing make the same parts
    with the same tensors, so RECIPE_SHARING documents the recipe truthfully."""
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "ner_rel": ner("syn_rel"), "pos_rel": pos("syn_rel")},
        recipe=recipe,
        model=model,
    )
    from_recipe, vocabularies, _ = build(config, data_dir)
    generic = build_multitask_model(config, vocabularies)
    assert sorted(from_recipe.parts) == sorted(generic.parts)
    for name in generic.views:
        assert sorted(from_recipe.part_names_of(name)) == sorted(generic.part_names_of(name))
    shapes = {key: tuple(t.shape) for key, t in from_recipe.state_dict().items()}
    assert shapes == {key: tuple(t.shape) for key, t in generic.state_dict().items()}


@pytest.mark.parametrize(
    ("recipe", "model", "match"),
    [
        ("lin2018", {"char_encoder": {"type": "lstm", "char_dim": 4, "hidden": 4}}, "lin2018.*cnn"),
        ("lin2018", {"head": {"type": "softmax"}}, "lin2018.*crf"),
        ("yang2016", {"char_encoder": {"type": "cnn", "char_dim": 4}}, "yang2016.*gru"),
        ("yang2016", {"char_encoder": {"type": "gru"}, "word_encoder": {"type": "lstm"}}, "yang2016.*gru"),
    ],
)
def test_recipes_refuse_parts_the_paper_does_not_have(
    recipe: str, model: dict[str, Any], match: str, data_dir: Path
) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "pos_src": pos("syn_src")}, recipe=recipe, model=model
    )
    with pytest.raises(ConfigError, match=match):
        build(config, data_dir)


def test_lin2018_refuses_a_gru_word_encoder(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "pos_src": pos("syn_src")},
        recipe="lin2018",
        model={"word_encoder": {"type": "gru", "hidden": 8}},
    )
    with pytest.raises(ConfigError, match="lin2018"):
        build(config, data_dir)


def test_a_classification_dataset_gets_a_classifier_head_beside_taggers(data_dir: Path) -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "sent_src": sentiment("syn_src")},
        sharing={"private_output": "per_dataset"},
    )
    assert config.dataset_view("sent_src").model.head.type == "classifier"
    assert config.dataset_view("ner_src").model.head.type == "crf"
    model, vocabularies, train = build(config, data_dir)
    head = model.views["sent_src"].head
    assert isinstance(head, ClassifierHead) and head is model.parts["output/sentiment"]
    assert "gate/sent_src" not in model.parts and "private/sent_src" not in model.parts
    assert vocabularies.labels["sentiment"].itos == ["negative", "positive"]
    assert model.views["sent_src"].word_encoder is model.views["ner_src"].word_encoder

    before = snapshot(model.parts["word_encoder/all"])
    batch = batch_of(config, vocabularies, train, "sent_src")
    assert batch.label_ids is not None and batch.label_ids.shape == (8,)
    optimizer = make_optimizer(model.parameters(), OptimizerConfig(type="sgd", lr=0.5))
    losses = model([("sent_src", batch), ("ner_src", batch_of(config, vocabularies, train, "ner_src"))])
    assert set(losses) == {"sent_src", "ner_src"}
    sum(losses.values()).backward()  # type: ignore[union-attr]
    optimizer.step()
    assert changed(model.parts["word_encoder/all"], before)
    assert model.views["sent_src"].predict(batch).shape == (8,)


def test_datasets_sharing_an_output_layer_must_share_a_tag_scheme() -> None:
    datasets = {"ner_src": ner("syn_src", "target"), "ner_rel": {**ner("syn_rel"), "tag_scheme": "bioes"}}
    config = multitask(datasets)  # validating reads no data; the groups are checked before the model
    with pytest.raises(ConfigError, match=r"ner_src and ner_rel share the output layer 'ner'.*train_scheme"):
        check_output_groups(config, part_groups(config, {}))
    # converting both to one training scheme, or giving each its own output layer, fits them together
    for fixed in (
        multitask(datasets, model={"train_scheme": "bioes"}),
        multitask(datasets, sharing={"output": "per_dataset"}),
    ):
        check_output_groups(fixed, part_groups(fixed, {}))


def test_a_tagger_and_a_classifier_cannot_share_an_output_layer() -> None:
    config = multitask(
        {"a": {**ner("syn_src", "target"), "task": "sentiment"}, "b": sentiment("syn_src")},
    )
    with pytest.raises(ConfigError, match="tagging/iob2 and classification/none"):
        check_output_groups(config, part_groups(config, {}))


def test_part_groups_name_who_shares_each_part() -> None:
    config = multitask(
        {"ner_src": ner("syn_src", "target"), "pos_src": pos("syn_src"), "ner_rel": ner("syn_rel")},
        sharing={
            "chars": "per_script",
            "word_embedding": "per_dataset",
            "word_encoder": "per_task",
            "output": "per_dataset",
        },
    )
    groups = part_groups(config, {"ner_src": "LATIN", "pos_src": "LATIN", "ner_rel": "CYRILLIC"})
    assert groups["ner_rel"] == {
        "chars": "cyrillic",
        "words": "ner_rel",
        "word_encoder": "ner",
        "output": "ner_rel",
        "labels": "ner_rel",
        "private": "ner_rel",
    }
    assert groups["pos_src"]["word_encoder"] == "upos" and groups["pos_src"]["chars"] == "latin"
    assert part_groups(config, {})["ner_src"]["chars"] == "common"  # no script known: one shared group


def test_common_and_private_encoders_sum_and_the_adversary_sees_the_common_one(data_dir: Path) -> None:
    """Kim et al. 2017's wiring: states = common + private; a step on one language leaves the other
    language's private encoder alone; encode_with_shared gives the common encoder's states."""
    config = multitask(
        {"pos_src": {**pos("syn_src"), "role": "target"}, "pos_rel": pos("syn_rel")},
        sharing={"private_encoder": "per_language", "output": "per_dataset"},
        objectives={"adversarial": {"filters": 4, "hidden": 8}},
    )
    model, vocabularies, train = build(config, data_dir)
    assert {"word_encoder/all", "private_encoder/syn_src", "private_encoder/syn_rel"} <= set(model.parts)
    view = model.views["pos_src"]
    model.eval()
    batch = batch_of(config, vocabularies, train, "pos_src")
    with torch.no_grad():
        states, shared = view.encode_with_shared(batch)
        x = view.features(batch)
        common = model.parts["word_encoder/all"](x, batch.mask)
        private = model.parts["private_encoder/syn_src"](x, batch.mask)
    assert torch.allclose(shared, common)
    assert torch.allclose(states, common + private)
    with torch.no_grad():
        assert torch.equal(view.encode_shared(batch), shared)  # the critic's input, private not run

    model.train()
    before = snapshot(model)
    optimizer = make_optimizer(model.parameters(), OptimizerConfig(type="sgd", lr=0.5))
    losses = model([("pos_src", batch)])
    assert set(losses) == {"pos_src", "adversarial"}
    sum(losses.values()).backward()  # type: ignore[union-attr]
    optimizer.step()
    moved = {name.split(".")[1] for name in changed(model, before)}
    assert {"word_encoder/all", "private_encoder/syn_src", "objective/adversary"} <= moved
    assert "private_encoder/syn_rel" not in moved and "word_embedding/syn_rel" not in moved


KIM_MODEL = {
    "char_encoder": {"type": "lstm", "char_dim": 4, "hidden": 4},
    "word_encoder": {"type": "lstm", "hidden": 8},
    "head": {"type": "softmax"},
}


@pytest.mark.parametrize(
    "sharing",
    [
        {},  # c,p (the recipe's default)
        {"private_encoder": "none"},  # c
        {"word_encoder": "per_language", "private_encoder": "none"},  # p
    ],
)
@pytest.mark.parametrize("objectives", [{}, {"bilm": {"output_words": 10}, "adversarial": {"filters": 4}}])
def test_kim2017_variants_wire_what_their_sharing_says(
    sharing: dict[str, str], objectives: dict[str, Any], data_dir: Path
) -> None:
    """Kim et al.'s Table 1 variants: the recipe and the generic builder given the resolved sharing
    make the same parts with the same tensors."""
    config = multitask(
        {"pos_src": {**pos("syn_src"), "role": "target"}, "pos_rel": pos("syn_rel")},
        recipe="kim2017",
        model=KIM_MODEL,
        sharing=sharing,
        objectives=objectives,
    )
    from_recipe, vocabularies, _ = build(config, data_dir)
    generic = build_multitask_model(config, vocabularies)
    assert sorted(from_recipe.parts) == sorted(generic.parts)
    shapes = {key: tuple(t.shape) for key, t in from_recipe.state_dict().items()}
    assert shapes == {key: tuple(t.shape) for key, t in generic.state_dict().items()}
    has_common = sharing.get("word_encoder", "all") == "all"
    has_private = sharing.get("private_encoder", "per_language") == "per_language" or not has_common
    assert ("word_encoder/all" in from_recipe.parts) == has_common
    assert any(name.endswith("/syn_rel") and "encoder" in name for name in from_recipe.parts) == has_private


def test_kim2017_refuses_sharing_it_does_not_offer() -> None:
    with pytest.raises(ConfigError, match="it allows"):
        multitask(
            {"pos_src": {**pos("syn_src"), "role": "target"}},
            recipe="kim2017",
            model=KIM_MODEL,
            sharing={"word_encoder": "per_task"},
        )
    with pytest.raises(ConfigError, match="output: per_task"):
        multitask(
            {"pos_src": {**pos("syn_src"), "role": "target"}},
            recipe="kim2017",
            model=KIM_MODEL,
            sharing={"output": "per_task"},
        )


def test_mixture_of_experts_over_source_languages(data_dir: Path) -> None:
    """MAN-MoE: one expert per source (non-target) language in the private features and in the
    predictor; states = [shared; experts]; the gate loss trains on source batches only."""
    config = multitask(
        {
            "pos_rel": {**pos("syn_rel"), "role": "target"},
            "pos_src": pos("syn_src"),
            "pos_unr": pos("syn_unr"),
        },
        sharing={"experts": "source_languages", "expert_hidden": 6, "output": "per_task"},
        model={"head": {"type": "softmax"}},
        objectives={"adversarial": {"filters": 4, "hidden": 8}},
    )
    model, vocabularies, train = build(config, data_dir)
    assert {"expert_encoder/all", "experts/features", "output/upos"} <= set(model.parts)
    features = model.parts["experts/features"]
    assert features.languages == ["syn_src", "syn_unr"]  # type: ignore[union-attr]
    view = model.views["pos_src"]
    assert view.word_encoder.output_dim == 16 + 6  # shared BiLSTM (2 x 8) + expert features

    model.train()
    source_losses = model([("pos_src", batch_of(config, vocabularies, train, "pos_src"))])
    assert set(source_losses) == {"pos_src", "adversarial", "gate"}
    assert source_losses["gate"].item() > 0
    target_losses = model([("pos_rel", batch_of(config, vocabularies, train, "pos_rel"))])
    assert target_losses["gate"].item() == 0.0  # the target has no expert: nothing to teach the gate
    source_losses["gate"].backward()
    assert features.gate.weight.grad is not None  # type: ignore[union-attr]

    model.eval()  # the discriminator's input is the shared BiLSTM's part of the states
    batch = batch_of(config, vocabularies, train, "pos_src")
    with torch.no_grad():
        _, shared = view.encode_with_shared(batch)
        assert torch.equal(view.encode_shared(batch), shared)


def test_experts_need_a_source_language_and_replace_private_parts() -> None:
    with pytest.raises(ConfigError, match="no language gets an expert"):
        cfg = multitask(
            {"pos_src": {**pos("syn_src"), "role": "target"}}, sharing={"experts": "source_languages"}
        )
        from babeltag.models.build_multitask import expert_sources

        expert_sources(cfg)
