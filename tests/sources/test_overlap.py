from __future__ import annotations

from collections import Counter

import pytest

from babeltag.data.example import Example
from babeltag.data.synthetic import LanguageSpec, generate
from babeltag.data.tag_schemes import TagSchemeError
from babeltag.errors import BabeltagError
from babeltag.sources.overlap import (
    UNK,
    CorpusProfile,
    OverlapError,
    SharedSubwords,
    _balanced_counts,
    char_ngram_overlap,
    char_ngrams,
    coverage,
    entity_overlap,
    profile_corpus,
    signals_between,
    subword_overlap,
    type_jaccard,
    word_overlap,
)


def sentences(*texts: str, language: str = "xx", task: str = "upos") -> list[Example]:
    """One unlabelled example per whitespace-separated text."""
    return [Example(text.split(), language, task) for text in texts]


def tagged(*pairs: tuple[str, str], language: str = "xx") -> list[Example]:
    """One NER example per (text, tags) pair, both whitespace-separated."""
    return [Example(text.split(), language, "ner", labels=tags.split()) for text, tags in pairs]


def profile(*texts: str, ngram: int = 3) -> CorpusProfile:
    return profile_corpus(sentences(*texts), "xx", ngram=ngram)


# --- counts ------------------------------------------------------------------------------------------


def test_coverage_counts_running_target_occurrences() -> None:
    source = Counter({"a": 1, "b": 5})
    target = Counter({"a": 2, "b": 1, "c": 1})
    assert coverage(source, target) == pytest.approx(3 / 4)
    assert coverage(target, source) == pytest.approx(1.0)


def test_coverage_of_an_empty_target_is_zero() -> None:
    assert coverage(Counter({"a": 1}), Counter()) == 0.0
    assert coverage(Counter(), Counter({"a": 1})) == 0.0


def test_coverage_ignores_types_counted_zero() -> None:
    assert coverage(Counter({"a": 0}), Counter({"a": 1, "b": 1})) == 0.0
    assert coverage(Counter({"a": 1}), Counter({"a": 1, "b": 0})) == pytest.approx(1.0)


def test_type_jaccard() -> None:
    source = Counter({"a": 7, "b": 1, "c": 1})
    target = Counter({"b": 1, "c": 3, "d": 1})
    assert type_jaccard(source, target) == pytest.approx(2 / 4)
    assert type_jaccard(target, source) == pytest.approx(2 / 4)
    assert type_jaccard(Counter(), Counter()) == 0.0
    assert type_jaccard(Counter({"a": 1}), Counter()) == 0.0


# --- profiles ----------------------------------------------------------------------------------------


def test_profile_counts_sentences_tokens_and_casefolded_words() -> None:
    result = profile_corpus(sentences("The cat", "the CAT sat"), "en")
    assert result.language == "en"
    assert result.sentences == 2
    assert result.tokens == 5
    assert result.words == Counter({"the": 2, "cat": 2, "sat": 1})
    assert result.script == "LATIN"


@pytest.mark.parametrize(
    ("word", "n", "expected"),
    [
        ("ab", 3, ["<ab", "ab>"]),
        ("a", 3, ["<a>"]),
        ("a", 4, ["<a>"]),
        ("ab", 2, ["<a", "ab", "b>"]),
        ("abcd", 3, ["<ab", "abc", "bcd", "cd>"]),
        ("", 3, ["<>"]),
    ],
)
def test_char_ngrams_of_a_padded_word(word: str, n: int, expected: list[str]) -> None:
    assert char_ngrams(word, n) == expected


def test_profile_char_ngrams_per_running_token() -> None:
    assert profile("ab").char_ngrams == Counter({"<ab": 1, "ab>": 1})
    assert profile("a").char_ngrams == Counter({"<a>": 1})
    assert profile("AB ab", "a").char_ngrams == Counter({"<ab": 2, "ab>": 2, "<a>": 1})
    assert profile("ab", ngram=2).char_ngrams == Counter({"<a": 1, "ab": 1, "b>": 1})


def test_profile_keeps_the_first_max_sentences() -> None:
    corpus = sentences("one two", "three", "four five six")
    first_two = profile_corpus(iter(corpus), "xx", max_sentences=2)
    assert (first_two.sentences, first_two.tokens) == (2, 3)
    assert set(first_two.words) == {"one", "two", "three"}
    empty = profile_corpus(corpus, "xx", max_sentences=0)
    assert (empty.sentences, empty.tokens, empty.words, empty.script) == (0, 0, Counter(), "COMMON")
    everything = profile_corpus(corpus, "xx", max_sentences=None)
    assert (everything.sentences, everything.tokens) == (3, 6)


def test_profile_rejects_impossible_arguments() -> None:
    with pytest.raises(OverlapError, match="n >= 1"):
        profile_corpus(sentences("a"), "xx", ngram=0)
    with pytest.raises(OverlapError, match="max_sentences"):
        profile_corpus(sentences("a"), "xx", max_sentences=-1)
    with pytest.raises(TagSchemeError, match="unknown tag scheme"):
        profile_corpus(sentences("a"), "xx", tag_scheme="iob")
    assert issubclass(OverlapError, BabeltagError)


NER_TARGET = tagged(
    ("I love New York", "O O B-LOC I-LOC"),
    ("new york and Paris", "B-LOC I-LOC O B-LOC"),
)


def test_entities_are_casefolded_span_surfaces() -> None:
    result = profile_corpus(NER_TARGET, "en", tag_scheme="iob2")
    assert result.entities == Counter({"new york": 2, "paris": 1})


def test_entities_follow_the_tag_scheme() -> None:
    iob1 = tagged(("Juan Carlos Madrid", "I-PER I-PER I-LOC"))
    assert profile_corpus(iob1, "es", tag_scheme="iob1").entities == Counter({"juan carlos": 1, "madrid": 1})
    bioes = tagged(("Juan Carlos Madrid", "B-PER E-PER S-LOC"))
    assert profile_corpus(bioes, "es", tag_scheme="bioes").entities == Counter(
        {"juan carlos": 1, "madrid": 1}
    )


def test_no_entities_without_a_span_scheme_or_labels() -> None:
    pos = [Example(["the", "cat"], "en", "upos", labels=["DET", "NOUN"])]
    assert profile_corpus(pos, "en").entities == Counter()
    assert profile_corpus(sentences("New York", task="ner"), "en", tag_scheme="iob2").entities == Counter()


def test_bad_tags_name_the_example() -> None:
    bad = [Example(["a"], "xx", "ner", labels=["LOC"], origin="train.txt:7")]
    with pytest.raises(TagSchemeError, match="train.txt:7"):
        profile_corpus(bad, "xx", tag_scheme="iob2")


# --- signals -----------------------------------------------------------------------------------------


def test_word_overlap_is_casefolded_target_coverage() -> None:
    source = profile("The cat")
    target = profile("the THE dog", "Cat")
    assert word_overlap(source, target) == pytest.approx(3 / 4)
    assert word_overlap(target, source) == pytest.approx(1.0)


def test_char_ngram_overlap() -> None:
    # target n-grams: <ab, ab>, <ac, ac>; the source has <ab and ab> only.
    assert char_ngram_overlap(profile("ab"), profile("ab ac")) == pytest.approx(2 / 4)
    assert char_ngram_overlap(profile("abc"), profile("ab")) == pytest.approx(1 / 2)  # <ab only


def test_entity_overlap_counts_target_mentions() -> None:
    target = profile_corpus(NER_TARGET, "en", tag_scheme="iob2")
    source = profile_corpus(tagged(("PARIS", "B-LOC"), ("York", "B-LOC")), "fr", tag_scheme="iob2")
    assert entity_overlap(source, target) == pytest.approx(1 / 3)
    assert entity_overlap(target, source) == pytest.approx(1 / 2)


def test_entity_overlap_is_none_without_target_entities() -> None:
    ner = profile_corpus(NER_TARGET, "en", tag_scheme="iob2")
    pos = profile("I love New York")
    assert entity_overlap(ner, pos) is None
    assert entity_overlap(pos, ner) == 0.0


def test_signals_between() -> None:
    source = profile_corpus(tagged(("Paris is big", "B-LOC O O")), "en", tag_scheme="iob2")
    target = profile_corpus(tagged(("Париж big", "B-LOC O")), "ru", tag_scheme="iob2")
    signals = signals_between(source, target, None)
    assert list(signals) == [
        "word_overlap",
        "subword_overlap",
        "char_ngram_overlap",
        "entity_overlap",
        "source_sentences",
        "source_tokens",
        "same_script",
    ]
    assert signals["word_overlap"] == pytest.approx(1 / 2)
    assert signals["subword_overlap"] is None
    assert signals["entity_overlap"] == 0.0
    assert signals["source_sentences"] == 1.0
    assert signals["source_tokens"] == 3.0
    assert (source.script, target.script) == ("LATIN", "CYRILLIC")
    assert signals["same_script"] == 0.0
    assert signals_between(source, source, None)["same_script"] == 1.0


# --- shared subwords ---------------------------------------------------------------------------------


def test_balancing_scales_every_language_to_the_smallest() -> None:
    big = profile("a " * 100 + "b " * 50)
    small = profile("c c c")
    assert _balanced_counts([big, small], None) == [Counter({"a": 2, "b": 1}), Counter({"c": 3})]
    # seed_words lowers the budget further; every type is still seen once.
    assert _balanced_counts([big, small], 1) == [Counter({"a": 1, "b": 1}), Counter({"c": 1})]
    # an empty corpus does not shrink the budget to nothing
    assert _balanced_counts([small, profile()], None) == [Counter({"c": 3}), Counter()]


def test_subword_counts_are_word_pieces_times_word_counts() -> None:
    corpus = profile("hello hello world", "hello there")
    shared = SharedSubwords([corpus, profile("hello there world")], vocab_size=40)
    units = shared.counts(corpus)
    expected: Counter[str] = Counter()
    for word, count in corpus.words.items():
        for piece in shared.tokenizer.encode(word).tokens:
            expected[piece] += count
    assert units == expected
    assert "".join(shared.tokenizer.encode("hello").tokens) == "hello"
    assert shared.counts(corpus) == units  # second call from the cache


def test_subword_overlap_of_a_corpus_with_itself_is_one() -> None:
    english = profile("hello world", "hello there")
    german = profile("hello welt")
    shared = SharedSubwords([english, german], vocab_size=50)
    assert subword_overlap(shared, english, english) == pytest.approx(1.0)
    assert subword_overlap(shared, german, german) == pytest.approx(1.0)
    assert 0.0 < subword_overlap(shared, english, german) < 1.0
    assert signals_between(english, german, shared)["subword_overlap"] == subword_overlap(
        shared, english, german
    )


def test_subword_overlap_across_disjoint_alphabets_is_zero() -> None:
    latin = profile("hello world", "hello there")
    cyrillic = profile("привет мир", "мир")
    shared = SharedSubwords([latin, cyrillic], vocab_size=60)
    assert subword_overlap(shared, latin, cyrillic) == 0.0
    assert subword_overlap(shared, cyrillic, latin) == 0.0


def test_unknown_units_are_never_shared() -> None:
    latin = profile("abc")
    shared = SharedSubwords([latin], vocab_size=20)
    greek = profile("αβγ")
    assert set(shared.counts(greek)) == {UNK}
    assert subword_overlap(shared, greek, greek) == 0.0


def test_shared_subwords_rejects_impossible_arguments() -> None:
    with pytest.raises(OverlapError, match="vocab_size"):
        SharedSubwords([profile("a")], vocab_size=0)
    with pytest.raises(OverlapError, match="seed_words"):
        SharedSubwords([profile("a")], seed_words=0)


# --- on the synthetic language family ----------------------------------------------------------------


def test_a_related_language_overlaps_more_than_an_unrelated_one(
    synthetic_languages: dict[str, LanguageSpec],
) -> None:
    def read(role: str) -> CorpusProfile:
        spec = synthetic_languages[role]
        return profile_corpus(generate(spec, 80, seed=0, task="ner"), spec.code, tag_scheme="iob2")

    source, related, cyrillic, unrelated = (
        read(role) for role in ("source", "related", "related_cyrillic", "unrelated")
    )
    shared = SharedSubwords([source, related, cyrillic, unrelated], vocab_size=500)
    near = signals_between(source, related, shared)
    far = signals_between(unrelated, related, shared)
    for name in ("word_overlap", "subword_overlap", "char_ngram_overlap"):
        near_value, far_value = near[name], far[name]
        assert near_value is not None and far_value is not None
        assert near_value > far_value, name
    assert near["same_script"] == 1.0
    assert signals_between(cyrillic, related, shared)["same_script"] == 0.0
