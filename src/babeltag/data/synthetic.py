"""SYNTHETIC corpora: artificial languages that share one grammar, for tests, demos and sanity checks.

Nothing produced here is real language data. The generator exists so that tests and small
experiments can run offline, quickly and reproducibly, on data whose structure is known:

* one small probabilistic grammar (clauses, noun phrases with determiners, numerals and adjectives,
  adpositional phrases, names, coordination) produces *abstract* sentences: UPOS tags, lexeme numbers,
  morphological features and entity spans (PER, LOC, ORG, MISC on proper-noun phrases);
* a :class:`LanguageSpec` renders abstract sentences into words: its own pseudo-word roots built from
  its own syllable inventory, POS-specific suffixes (so the POS of an unseen word can be guessed from
  its ending), its word order (adjective after the noun, verb-final clauses, postpositions) and its
  script (Latin, Cyrillic or Greek letters);
* a language may descend from a *parent*: it inherits a fraction of the parent's roots and suffixes
  (after a few sound changes), so transfer from the parent genuinely helps, while an unrelated
  language shares only the grammar (and digits and punctuation).

Everything is a pure function of explicit integer seeds (string hashing is never used), so the same
seed gives the same corpus in every process. Lexemes are drawn from a Zipf-like distribution, so a
corpus has frequent words and a long tail of rare ones. Some words are ambiguous, so that a tagger
needs context and not only the word: one verb root in five is also a noun root, two determiners
double as pronouns, and half the languages share one ending between plural nouns and present-tense
verbs (as English "-s").
"""

from __future__ import annotations

import functools
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate
from pathlib import Path

from babeltag.data.example import Example

# ---------------------------------------------------------------------------------------------------
# Languages
# ---------------------------------------------------------------------------------------------------

#: How many lexemes each word class has. Proper nouns come in one pool per entity type, plus a few
#: organisation markers that end ORG names (like "Inc." or "Union").
LEXICON_SIZES = {
    "NOUN": 400,
    "VERB": 200,
    "ADJ": 120,
    "ADV": 40,
    "PER": 120,
    "LOC": 80,
    "ORG": 60,
    "ORG_MARK": 5,
    "MISC": 40,
    "DET": 6,
    "ADP": 10,
    "PRON": 8,
    "AUX": 4,
    "CCONJ": 3,
}
CLOSED_CLASSES = ("DET", "ADP", "PRON", "AUX", "CCONJ")

#: Inflectional slots: (word class, feature) -> one suffix per language. An empty feature means a
#: derivational ending that every word of the class carries (like English "-ly").
SUFFIX_SLOTS = (
    ("NOUN", "Number=Sing"),
    ("NOUN", "Number=Plur"),
    ("ADJ", "Number=Sing"),
    ("ADJ", "Number=Plur"),
    ("VERB", "Tense=Pres"),
    ("VERB", "Tense=Past"),
    ("VERB", "VerbForm=Part"),
    ("ADV", ""),
)
#: Slots that may be empty in a language, as English nouns are in the singular and verbs in the present.
MAYBE_EMPTY_SLOTS = (("NOUN", "Number=Sing"), ("VERB", "Tense=Pres"))

_LATIN = "abcdefghijklmnopqrstuvwxyz"
SCRIPTS = {
    "latin": _LATIN,
    "cyrillic": "абцдефгхийклмнопщрстувшжыз",
    "greek": "αβψδεφγχιθκλμνοπϙρστυωϝξηζ",
}
_TRANSLITERATION = {script: str.maketrans(_LATIN, letters) for script, letters in SCRIPTS.items()}


@dataclass(frozen=True)
class LanguageSpec:
    """An artificial language: how abstract sentences become words.

    Words are built in lower-case Latin letters from ``consonants`` and ``vowels`` and transliterated
    into ``script`` only when rendered. With a ``parent``, each root and each suffix is inherited from
    the parent with probability ``shared_roots`` / ``shared_suffixes``, passed through
    ``sound_changes`` (letter substitutions), and otherwise made afresh.
    """

    code: str
    seed: int
    consonants: str = "ptkbdgmnlrsv"
    vowels: str = "aeiou"
    adjective_after_noun: bool = False
    verb_final: bool = False
    postpositions: bool = False
    script: str = "latin"
    parent: LanguageSpec | None = None
    shared_roots: float = 0.0
    shared_suffixes: float = 0.0
    sound_changes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.script not in SCRIPTS:
            raise ValueError(f"script must be one of {', '.join(SCRIPTS)}, not {self.script!r}")
        if not set(self.consonants + self.vowels) <= set(_LATIN):
            raise ValueError("consonants and vowels must be lower-case Latin letters")


def make_language_family(seed: int = 0) -> dict[str, LanguageSpec]:
    """Four languages for transfer experiments, keyed by their codes' role:

    * ``source``: SVO, adjective before noun, prepositions;
    * ``related``: a daughter of ``source`` sharing 60% of its roots and 80% of its suffixes (after
      sound changes o->u and k->g), with adjectives after the noun;
    * ``related_cyrillic``: the same language as ``related``, written in Cyrillic letters;
    * ``unrelated``: its own phonology and lexicon, verb-final, postpositions.
    """
    source = LanguageSpec("syn_src", seed=_derive(seed, "source"))
    related = LanguageSpec(
        "syn_rel",
        seed=_derive(seed, "related"),
        adjective_after_noun=True,
        parent=source,
        shared_roots=0.6,
        shared_suffixes=0.8,
        sound_changes=(("o", "u"), ("k", "g")),
    )
    unrelated = LanguageSpec(
        "syn_unr",
        seed=_derive(seed, "unrelated"),
        consonants="hjkmnqswxz",
        vowels="aiuy",
        verb_final=True,
        postpositions=True,
    )
    return {
        "source": source,
        "related": related,
        "related_cyrillic": replace(related, code="syn_rel_cyrl", script="cyrillic"),
        "unrelated": unrelated,
    }


@dataclass(frozen=True)
class Lexicon:
    """The words of one language: ``roots[pool][lexeme]`` and ``suffixes[(class, feature)]``, in Latin
    letters before transliteration."""

    roots: dict[str, tuple[str, ...]]
    suffixes: dict[tuple[str, str], str]


@functools.lru_cache(maxsize=64)
def build_lexicon(spec: LanguageSpec) -> Lexicon:
    """Make (or inherit) every root and suffix of ``spec``; deterministic given the spec. Cached, since
    every corpus of a language needs the same lexicon: treat the result as read-only."""
    rng = random.Random(_derive(spec.seed, "lexicon"))
    parent = build_lexicon(spec.parent) if spec.parent is not None else None
    used: set[str] = set()

    roots: dict[str, tuple[str, ...]] = {}
    for pool, size in LEXICON_SIZES.items():
        syllables = (1, 1) if pool in CLOSED_CLASSES else (1, 3) if pool == "ORG_MARK" else (2, 3)
        words = []
        for lexeme in range(size):
            if pool == "VERB" and lexeme % 5 == 2:
                words.append(roots["NOUN"][lexeme])  # zero derivation: the same root as a noun
                continue
            if pool == "PRON" and lexeme < 2:
                words.append(roots["DET"][lexeme])  # like "that": a determiner also used as a pronoun
                continue
            word = ""
            if parent is not None and rng.random() < spec.shared_roots:
                word = apply_sound_changes(spec, parent.roots[pool][lexeme])
            attempts = 0
            while not word or word in used:
                attempts += 1
                if attempts > 1000:
                    raise ValueError(f"{spec.code}: too few letters to make {size} distinct {pool} words")
                word = _pseudo_word(rng, spec, rng.randint(*syllables))
            used.add(word)
            words.append(word)
        roots[pool] = tuple(words)

    suffixes: dict[tuple[str, str], str] = {}
    for slot in SUFFIX_SLOTS:
        if parent is not None and rng.random() < spec.shared_suffixes:
            suffix = apply_sound_changes(spec, parent.suffixes[slot])
        elif slot in MAYBE_EMPTY_SLOTS and rng.random() < 0.5:
            suffix = ""
        else:
            suffix = _pseudo_suffix(rng, spec)
        # Distinct suffixes within a language, so that the features can be read off a word.
        while suffix and suffix in suffixes.values():
            suffix = _pseudo_suffix(rng, spec)
        suffixes[slot] = suffix
    # Like English "-s" (plural nouns, present-tense verbs), half the languages use one ending for
    # both, so that the ending alone cannot always tell a noun from a verb: context has to.
    if rng.random() < 0.5:
        suffixes[("VERB", "Tense=Pres")] = suffixes[("NOUN", "Number=Plur")]
    return Lexicon(roots, suffixes)


def apply_sound_changes(spec: LanguageSpec, word: str) -> str:
    """What an inherited root or suffix of ``spec``'s parent becomes in ``spec``."""
    for old, new in spec.sound_changes:
        word = word.replace(old, new)
    return word


_SYLLABLE_SHAPES = ("CV",) * 6 + ("CVC",) * 3 + ("V",)


def _pseudo_word(rng: random.Random, spec: LanguageSpec, n_syllables: int) -> str:
    """Syllables of the shapes CV, CVC and V; the language's letters give it its look."""
    parts = []
    for _ in range(n_syllables):
        shape = rng.choice(_SYLLABLE_SHAPES)
        parts.append("".join(rng.choice(spec.consonants if c == "C" else spec.vowels) for c in shape))
    return "".join(parts)


def _pseudo_suffix(rng: random.Random, spec: LanguageSpec) -> str:
    shape = rng.choice(("V", "VC", "VC", "CV", "VCV"))
    return "".join(rng.choice(spec.consonants if c == "C" else spec.vowels) for c in shape)


# ---------------------------------------------------------------------------------------------------
# Abstract sentences (language independent)
# ---------------------------------------------------------------------------------------------------


@dataclass
class Word:
    """One abstract word: its class, which lexeme of which pool, its features and its entity type.

    ``literal`` holds words that are the same in every language (digits, punctuation).
    """

    upos: str
    pool: str = ""
    lexeme: int = 0
    feats: str = "_"
    entity: str | None = None
    begins_entity: bool = False
    literal: str | None = None


@dataclass
class NounPhrase:
    noun: Word
    determiner: Word | None = None
    numeral: Word | None = None
    adjectives: list[Word] = field(default_factory=list)
    modifier: AdpPhrase | None = None


@dataclass
class Name:
    words: list[Word]


@dataclass
class AdpPhrase:
    adposition: Word
    nominal: NounPhrase | Name | Word


@dataclass
class Clause:
    subject: NounPhrase | Name | Word
    verb: Word
    auxiliary: Word | None = None
    object: NounPhrase | Name | Word | None = None
    adpositional: list[AdpPhrase] = field(default_factory=list)
    adverb: Word | None = None


@dataclass
class Sentence:
    clauses: list[Clause]
    conjunction: Word | None
    end: Word
    polarity: str | None = None


#: Zipf-like cumulative weights per pool, so that low lexeme numbers are frequent words.
_ZIPF = {
    pool: list(accumulate(1.0 / (rank + 2) for rank in range(size))) for pool, size in LEXICON_SIZES.items()
}


class _Grammar:
    """The one grammar every synthetic language shares. ``polarity`` ("positive" / "negative")
    restricts adjectives to even / odd lexemes, which is what the classification task asks about."""

    def __init__(self, rng: random.Random, polarity: str | None = None) -> None:
        self.rng = rng
        self.polarity = polarity

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def lexeme(self, upos: str, pool: str, feats: str = "_", entity: str | None = None) -> Word:
        index = self.rng.choices(range(LEXICON_SIZES[pool]), cum_weights=_ZIPF[pool])[0]
        return Word(upos, pool, index, feats, entity)

    def adjective(self, number: str) -> Word:
        word = self.lexeme("ADJ", "ADJ", f"Number={number}")
        if self.polarity is not None:
            # Even adjectives are positive, odd ones negative: take the neighbour of the right polarity.
            word.lexeme = word.lexeme - word.lexeme % 2 + (self.polarity == "negative")
        return word

    def sentence(self) -> Sentence:
        clauses = [self.clause()]
        conjunction = None
        if self.chance(0.2):
            conjunction = self.lexeme("CCONJ", "CCONJ")
            clauses.append(self.clause())
        end = Word("PUNCT", literal=self.rng.choices((".", "?", "!"), weights=(8, 1, 1))[0])
        return Sentence(clauses, conjunction, end, self.polarity)

    def clause(self) -> Clause:
        subject = self.nominal(p_name=0.3, name_types=("PER", "ORG", "MISC"), name_weights=(6, 3, 1))
        auxiliary = self.lexeme("AUX", "AUX") if self.chance(0.3) else None
        tense = "VerbForm=Part" if auxiliary else self.rng.choice(("Tense=Pres", "Tense=Past"))
        verb = self.lexeme("VERB", "VERB", tense)
        obj = None
        if self.chance(0.7):
            obj = self.nominal(
                p_name=0.25, name_types=("PER", "ORG", "MISC", "LOC"), name_weights=(4, 3, 1, 2)
            )
        adpositional = [self.adp_phrase() for _ in range(self.rng.choices((0, 1, 2), weights=(5, 4, 1))[0])]
        adverb = self.lexeme("ADV", "ADV") if self.chance(0.3) else None
        return Clause(subject, verb, auxiliary, obj, adpositional, adverb)

    def nominal(
        self, p_name: float, name_types: Sequence[str], name_weights: Sequence[float]
    ) -> NounPhrase | Name | Word:
        if self.chance(p_name):
            return self.name(self.rng.choices(name_types, weights=name_weights)[0])
        if self.chance(0.2):
            return self.lexeme("PRON", "PRON")
        return self.noun_phrase(allow_modifier=True)

    def noun_phrase(self, allow_modifier: bool) -> NounPhrase:
        numeral = None
        if self.chance(0.1):
            numeral = Word("NUM", literal=str(self.rng.choice((2, 3, 4, 5, 10, 12, 20, 100, 1990, 2024))))
        number = "Plur" if numeral is not None or self.chance(0.3) else "Sing"
        determiner = self.lexeme("DET", "DET") if numeral is None and self.chance(0.8) else None
        n_adjectives = self.rng.choices((0, 1, 2), weights=(5, 3.5, 1.5))[0]
        adjectives = [self.adjective(number) for _ in range(n_adjectives)]
        modifier = self.adp_phrase(allow_modifier=False) if allow_modifier and self.chance(0.1) else None
        noun = self.lexeme("NOUN", "NOUN", f"Number={number}")
        return NounPhrase(noun, determiner, numeral, adjectives, modifier)

    def adp_phrase(self, allow_modifier: bool = True) -> AdpPhrase:
        adposition = self.lexeme("ADP", "ADP")
        nominal: NounPhrase | Name | Word
        if self.chance(0.4):
            nominal = self.name(self.rng.choices(("LOC", "ORG", "PER"), weights=(7, 2, 1))[0])
        else:
            nominal = self.noun_phrase(allow_modifier=allow_modifier)
        return AdpPhrase(adposition, nominal)

    def name(self, entity: str) -> Name:
        """PER: one or two names; LOC: mostly one; ORG: a name or two and a marker; MISC: one."""
        n_words = {"PER": (1, 2), "LOC": (1, 1, 1, 2), "ORG": (1, 2), "MISC": (1,)}[entity]
        words = [self.lexeme("PROPN", entity, "_", entity) for _ in range(self.rng.choice(n_words))]
        if entity == "ORG":
            words.append(self.lexeme("PROPN", "ORG_MARK", "_", entity))
        words[0].begins_entity = True
        return Name(words)


#: Any word order will do to look for the adjectives of an abstract sentence.
_PLAIN = LanguageSpec("plain", seed=0)


def abstract_sentences(n_sentences: int, seed: int, task: str = "upos") -> list[Sentence]:
    """``n_sentences`` language-independent sentences. For ``task="cls"`` each gets a polarity
    (positive or negative with equal chance) and at least one adjective carrying it."""
    rng = random.Random(_derive(seed, "sentences"))
    sentences = []
    for _ in range(n_sentences):
        polarity = rng.choice(("positive", "negative")) if task == "cls" else None
        grammar = _Grammar(rng, polarity)
        sentence = grammar.sentence()
        while polarity is not None and not any(w.upos == "ADJ" for w in linearise(sentence, _PLAIN)):
            sentence = grammar.sentence()
        sentences.append(sentence)
    return sentences


# ---------------------------------------------------------------------------------------------------
# Rendering: word order, then words
# ---------------------------------------------------------------------------------------------------


def linearise(sentence: Sentence, spec: LanguageSpec) -> list[Word]:
    """Put the abstract sentence's words in ``spec``'s order."""
    words: list[Word] = []
    for index, clause in enumerate(sentence.clauses):
        if index > 0:
            words.append(Word("PUNCT", literal=","))
            assert sentence.conjunction is not None
            words.append(sentence.conjunction)
        words.extend(_clause(clause, spec))
    words.append(sentence.end)
    return words


def _clause(clause: Clause, spec: LanguageSpec) -> list[Word]:
    verb_group = [w for w in (clause.auxiliary, clause.verb) if w is not None]
    rest = _nominal(clause.object, spec) if clause.object is not None else []
    for phrase in clause.adpositional:
        rest += _adp_phrase(phrase, spec)
    adverb = [clause.adverb] if clause.adverb is not None else []
    if spec.verb_final:
        return _nominal(clause.subject, spec) + rest + adverb + verb_group
    return _nominal(clause.subject, spec) + verb_group + adverb + rest


def _nominal(nominal: NounPhrase | Name | Word, spec: LanguageSpec) -> list[Word]:
    if isinstance(nominal, Word):
        return [nominal]
    if isinstance(nominal, Name):
        return list(nominal.words)
    before = [w for w in (nominal.determiner, nominal.numeral) if w is not None]
    if spec.adjective_after_noun:
        words = before + [nominal.noun] + nominal.adjectives
    else:
        words = before + nominal.adjectives + [nominal.noun]
    if nominal.modifier is not None:
        words += _adp_phrase(nominal.modifier, spec)
    return words


def _adp_phrase(phrase: AdpPhrase, spec: LanguageSpec) -> list[Word]:
    if spec.postpositions:
        return _nominal(phrase.nominal, spec) + [phrase.adposition]
    return [phrase.adposition] + _nominal(phrase.nominal, spec)


def render_word(word: Word, lexicon: Lexicon, spec: LanguageSpec) -> tuple[str, str]:
    """``(form, lemma)`` of ``word`` in ``spec``: root + suffix, transliterated; names capitalised."""
    if word.literal is not None:
        return word.literal, word.literal
    root = lexicon.roots[word.pool][word.lexeme]
    feature = word.feats if word.feats != "_" else ""
    suffix = lexicon.suffixes.get((word.upos, feature), "")
    table = _TRANSLITERATION[spec.script]
    form, lemma = (root + suffix).translate(table), root.translate(table)
    if word.upos == "PROPN":
        form, lemma = form.capitalize(), lemma.capitalize()
    return form, lemma


def render(sentences: Sequence[Sentence], spec: LanguageSpec, task: str, ids: Sequence[str]) -> list[Example]:
    """Examples of ``task`` ("upos", "ner" or "cls") in ``spec``. Every example's ``meta`` holds all
    annotations, whatever the task: ``upos``, ``ner`` (IOB2), ``feats``, ``lemmas``, ``sent_id``."""
    if task not in ("upos", "ner", "cls"):
        raise ValueError(f"task must be 'upos', 'ner' or 'cls', not {task!r}")
    lexicon = build_lexicon(spec)
    examples = []
    for sent_id, sentence in zip(ids, sentences, strict=True):
        words = linearise(sentence, spec)
        forms, lemmas = zip(*(render_word(word, lexicon, spec) for word in words), strict=True)
        upos = [word.upos for word in words]
        ner = _iob2(words)
        examples.append(
            Example(
                tokens=list(forms),
                language=spec.code,
                task=task,
                labels=None if task == "cls" else upos if task == "upos" else ner,
                label=sentence.polarity if task == "cls" else None,
                origin=f"synthetic:{sent_id}",
                meta={
                    "sent_id": sent_id,
                    "upos": upos,
                    "ner": ner,
                    "feats": [word.feats for word in words],
                    "lemmas": list(lemmas),
                },
            )
        )
    return examples


def _iob2(words: Sequence[Word]) -> list[str]:
    """Names stay contiguous in every word order, but two can be adjacent (subject and object of a
    verb-final clause), so each name's first word says where it begins."""
    return [
        "O" if word.entity is None else f"{'B' if word.begins_entity else 'I'}-{word.entity}"
        for word in words
    ]


# ---------------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------------


def generate(spec: LanguageSpec, n_sentences: int, seed: int, task: str = "upos") -> list[Example]:
    """``n_sentences`` SYNTHETIC examples of ``task`` ("upos", "ner" in IOB2, or "cls" with labels
    "positive"/"negative") in language ``spec``. Different languages get different sentences from the
    same seed; use :func:`parallel` for translations."""
    sentences = abstract_sentences(n_sentences, _derive(seed, spec.code), task)
    ids = [f"{spec.code}-{seed}-{index}" for index in range(n_sentences)]
    return render(sentences, spec, task, ids)


def parallel(
    specs: Sequence[LanguageSpec], n_sentences: int, seed: int, task: str = "upos"
) -> dict[str, list[Example]]:
    """The same ``n_sentences`` abstract sentences rendered in every language, keyed by code; the
    i-th examples are translations of each other and share ``meta["sent_id"]``."""
    sentences = abstract_sentences(n_sentences, _derive(seed, "parallel"), task)
    ids = [f"parallel-{seed}-{index}" for index in range(n_sentences)]
    return {spec.code: render(sentences, spec, task, ids) for spec in specs}


# ---------------------------------------------------------------------------------------------------
# Files laid out like the real data directory
# ---------------------------------------------------------------------------------------------------


def to_conllu(examples: Sequence[Example]) -> str:
    """CoNLL-U text (ID FORM LEMMA UPOS _ FEATS _ _ _ _). An adposition directly followed by a
    determiner is also written as one multiword token (like French "du" = "de le"), so that files
    exercise the multiword handling of readers."""
    blocks = []
    for example in examples:
        upos, feats, lemmas = example.meta["upos"], example.meta["feats"], example.meta["lemmas"]
        assert isinstance(upos, list) and isinstance(feats, list) and isinstance(lemmas, list)
        lines = [f"# sent_id = {example.meta['sent_id']}", f"# text = {' '.join(example.tokens)}"]
        for index, token in enumerate(example.tokens):
            following = upos[index + 1] if index + 1 < len(upos) else None
            if upos[index] == "ADP" and following == "DET":
                fused = token + example.tokens[index + 1][-1]
                lines.append(f"{index + 1}-{index + 2}\t{fused}" + "\t_" * 8)
            columns = [str(index + 1), token, lemmas[index], upos[index], "_", feats[index]] + ["_"] * 4
            lines.append("\t".join(columns))
        blocks.append("\n".join(lines) + "\n\n")
    return "".join(blocks)


def to_conll(examples: Sequence[Example], docstart_every: int = 0) -> str:
    """CoNLL-2002 style ``token UPOS NER`` lines; with ``docstart_every`` a ``-DOCSTART- -X- O``
    line (and blank line) opens each group of that many sentences, as in CoNLL-2003."""
    parts = []
    for index, example in enumerate(examples):
        if docstart_every and index % docstart_every == 0:
            parts.append("-DOCSTART- -X- O\n\n")
        upos, ner = example.meta["upos"], example.meta["ner"]
        assert isinstance(upos, list) and isinstance(ner, list)
        parts.append("".join(f"{t} {u} {n}\n" for t, u, n in zip(example.tokens, upos, ner, strict=True)))
        parts.append("\n")
    return "".join(parts)


def to_csv(examples: Sequence[Example]) -> str:
    """``label,text`` records, CRLF line ends, text quoted (it may contain commas)."""
    lines = []
    for example in examples:
        text = " ".join(example.tokens).replace('"', '""')
        lines.append(f'{example.label},"{text}"\r\n')
    return "".join(lines)


DEFAULT_SIZES = {"train": 200, "dev": 50, "test": 50}


def write_corpus(
    root: str | Path,
    specs: Sequence[LanguageSpec],
    sizes: dict[str, int] | None = None,
    seed: int = 0,
) -> list[Path]:
    """Write SYNTHETIC corpora for every language under ``root`` in the layout of the real data
    directory: ``ud/<code>/<split>.conllu``, ``ner/<code>/<split>.txt`` (``token UPOS NER``, a
    ``-DOCSTART-`` line every 20 sentences) and ``cls/<code>/<split>.csv``. Returns the paths."""
    root = Path(root)
    written = []
    for spec in specs:
        for split, size in (sizes or DEFAULT_SIZES).items():
            split_seed = _derive(seed, split)
            files = {
                root / "ud" / spec.code / f"{split}.conllu": to_conllu(
                    generate(spec, size, split_seed, "upos")
                ),
                root / "ner" / spec.code / f"{split}.txt": to_conll(
                    generate(spec, size, _derive(split_seed, "ner"), "ner"), docstart_every=20
                ),
                root / "cls" / spec.code / f"{split}.csv": to_csv(
                    generate(spec, size, _derive(split_seed, "cls"), "cls")
                ),
            }
            for path, text in files.items():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8", newline="")
                written.append(path)
    return written


def _derive(seed: int, *names: object) -> int:
    """A new seed from a seed and names, stable across processes (unlike ``hash``)."""
    text = "/".join(str(part) for part in (seed, *names))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
