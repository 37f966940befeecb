"""Tag schemes: how spans are written one tag per token, and how to move between the ways of writing them.

A span ("Madrid" is a LOC, "Juan Carlos" a PER) is written with a prefix per token:

    tokens   Juan   Carlos  visita  Madrid  y    Lisboa
    IOB1     I-PER  I-PER   O       I-LOC   O    I-LOC    B- only between two adjacent spans of one type
    IOB2     B-PER  I-PER   O       B-LOC   O    B-LOC    every span starts with B-  (alias "bio")
    BIOES    B-PER  E-PER   O       S-LOC   O    S-LOC    B-egin, I-nside, E-nd, S-ingle  (alias "iobes")

Scheme "none" means plain labels (POS tags, ...) that are not spans at all.

Everything here goes through spans: ``to_spans`` reads tags, ``from_spans`` writes them, ``convert``
is the two in a row. Reading follows the chunk rules of the CoNLL ``conlleval`` script, so that a
tagger's output that breaks the scheme (``O I-PER``) is read the way the shared-task scores read it.
``find_violation`` and ``allowed_transitions`` share one rule, ``_transition_problem``, so a CRF
constrained with the latter decodes only sequences that the former accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch

from babeltag.errors import BabeltagError

SCHEMES = ("iob1", "iob2", "bioes", "none")
_ALIASES = {"bio": "iob2", "iobes": "bioes"}
_DISPLAY = {"iob1": "IOB1", "iob2": "IOB2", "bioes": "BIOES", "none": "none"}
_PREFIXES = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}

Span = tuple[str, int, int]
"""(type, start, end): tokens ``start`` up to but not including ``end``."""


class TagSchemeError(BabeltagError):
    """Tags that do not fit their scheme, or an unknown scheme. ``index`` is the offending tag's position."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


class Tag(NamedTuple):
    """A parsed tag: ``prefix`` is one of B, I, E, S, O and ``type`` is "" for O."""

    prefix: str
    type: str

    def __str__(self) -> str:
        return "O" if self.prefix == "O" else f"{self.prefix}-{self.type}"


OUTSIDE = Tag("O", "")


def normalize_scheme(scheme: str) -> str:
    """The canonical name ("iob1", "iob2", "bioes" or "none") of a scheme name in any case or alias."""
    name = scheme.strip().lower()
    name = _ALIASES.get(name, name)
    if name in SCHEMES:
        return name
    hint = " ('iob' is ambiguous: say iob1 or iob2)" if name == "iob" else ""
    known = ", ".join([*SCHEMES, *_ALIASES])
    raise TagSchemeError(f"unknown tag scheme {scheme!r}{hint}; expected one of {known}")


def _split(tag: str) -> Tag | None:
    """Parse ``tag``, or None when it is not of the form O or B-/I-/E-/S-TYPE."""
    if tag == "O":
        return OUTSIDE
    prefix, dash, type_ = tag.partition("-")  # the first dash only: types may contain dashes
    if dash and prefix in ("B", "I", "E", "S") and type_:
        return Tag(prefix, type_)
    return None


def _not_a_tag(tag: str) -> str:
    return f"{tag!r} is not a tag of the form B-/I-/E-/S-TYPE or O"


def parse_tag(tag: str) -> Tag:
    """Split ``"B-PER"`` into ``Tag("B", "PER")`` and ``"O"`` into ``Tag("O", "")``."""
    parsed = _split(tag)
    if parsed is None:
        raise TagSchemeError(_not_a_tag(tag))
    return parsed


# --- validity: one local rule per scheme ------------------------------------------------------------
#
# Every scheme here is a first-order language: a sequence is valid iff each adjacent pair is, with
# ``None`` standing for the sentence edge on either side. So one function answers both "is this
# sequence valid?" (find_violation) and "may label j follow label i?" (allowed_transitions).


def _where(prev: Tag | None) -> str:
    return "starts the sentence" if prev is None else f"follows {prev}"


def _continues(prev: Tag | None, cur: Tag) -> bool:
    """Does ``cur`` come right after a B-/I- tag of its own type?"""
    return prev is not None and prev.prefix in "BI" and prev.type == cur.type


def _transition_problem(prev: Tag | None, cur: Tag | None, scheme: str) -> str | None:
    """Why ``cur`` may not follow ``prev`` under ``scheme``, or None if it may. None = sentence edge."""
    if scheme == "iob1":
        # I- may go anywhere; B- exists only to split two adjacent spans of the same type.
        if cur is None or cur.prefix != "B" or _continues(prev, cur):
            return None
        t = cur.type
        return (
            f"{cur} {_where(prev)}; B-{t} under IOB1 is only allowed directly after I-{t}/B-{t} "
            f"(to separate two adjacent {t} entities); an entity starts with I-{t}"
        )

    if scheme == "iob2":
        if cur is None or cur.prefix != "I" or _continues(prev, cur):
            return None
        return f"{cur} {_where(prev)}; under IOB2 an entity must start with B-{cur.type}"

    # bioes: after B-/I- the span must go on (I-) or close (E-) with the same type; everywhere
    # else a span may only open (B-, S-) or we stay outside (O).
    if prev is not None and prev.prefix in "BI":
        t = prev.type
        if cur is None:
            return f"{prev} ends the sentence; under BIOES the entity must be closed with E-{t}"
        if cur.prefix not in "IE" or cur.type != t:
            return f"{cur} follows {prev}; under BIOES that entity must continue with I-{t} or end with E-{t}"
        return None
    if cur is not None and cur.prefix in "IE":
        t = cur.type
        return (
            f"{cur} without a preceding B-{t}/I-{t} (it {_where(prev)}); under BIOES an entity starts "
            f"with B-{t}, or is S-{t} if it is a single token"
        )
    return None


def find_violation(tags: Sequence[str], scheme: str) -> tuple[int, str] | None:
    """The first tag that breaks ``scheme`` as ``(index, reason)``, or None if the sequence is valid.

    A BIOES span left open at the end of the sentence is reported at the last tag.
    """
    scheme = normalize_scheme(scheme)
    if scheme == "none":
        return None
    prefixes = _PREFIXES[scheme]
    prev: Tag | None = None
    for i, tag in enumerate(tags):
        cur = _split(tag)
        if cur is None:
            return i, _not_a_tag(tag)
        if cur.prefix != "O" and cur.prefix not in prefixes:
            allowed = ", ".join(f"{p}-TYPE" for p in prefixes)
            return i, f"{tag} is not used in {_DISPLAY[scheme]}; {_DISPLAY[scheme]} uses {allowed} and O"
        problem = _transition_problem(prev, cur, scheme)
        if problem is not None:
            return i, problem
        prev = cur
    if prev is not None:
        problem = _transition_problem(prev, None, scheme)
        if problem is not None:
            return len(tags) - 1, problem
    return None


# --- reading spans: conlleval's chunk rules ---------------------------------------------------------
#
# conlleval never validates; it decides between every two tokens whether a chunk ended and whether
# one started. On valid input of any scheme this gives the intended spans; on invalid input it is
# lenient in a fixed, well-known way (``O I-PER`` starts a PER chunk, ``B-PER I-LOC`` is two chunks).
# The original script knows B, I and E but not S; we read S- the way later ports (seqeval's default
# mode) do: E- and S- always close the chunk they are in, B- and S- always open a new one. On tags
# from B-/I-/O only (IOB1, IOB2) or I-/E-/O only (IOE) this is exactly the script's reading; the two
# differ only on mixtures the script was not written for (it would merge E-X B-X into one chunk).


def _chunk_ends(prev: Tag, cur: Tag) -> bool:
    """Did a chunk end between ``prev`` and ``cur``?"""
    if prev.prefix == "O":
        return False
    if prev.prefix in "ES":
        return True
    if cur.prefix in "BSO":
        return True
    return prev.type != cur.type  # B-/I- followed by I-/E-: a type change still ends the chunk


def _chunk_starts(prev: Tag, cur: Tag) -> bool:
    """Did a chunk start between ``prev`` and ``cur``?"""
    if cur.prefix == "O":
        return False
    if cur.prefix in "BS":
        return True
    if prev.prefix in "OES":
        return True  # I-/E- with nothing open before it starts a chunk anyway
    return prev.type != cur.type


def to_spans(tags: Sequence[str], scheme: str = "iob2") -> list[Span]:
    """The spans written by ``tags`` as ``(type, start, end)``, ``end`` exclusive, in order.

    Invalid sequences are read leniently with conlleval's rules (see above), so that scores on a
    tagger's output match the CoNLL script. Tags that are not of the form B-/I-/E-/S-TYPE or O raise
    :class:`TagSchemeError`. Under scheme "none" every non-O token is a span of its own, like
    ``conlleval -r``.
    """
    scheme = normalize_scheme(scheme)
    if scheme == "none":
        return [(tag, i, i + 1) for i, tag in enumerate(tags) if tag != "O"]
    spans: list[Span] = []
    prev, start = OUTSIDE, 0
    for i, tag in enumerate([*tags, "O"]):  # the trailing O closes a span that reaches the end
        cur = _split(tag)
        if cur is None:
            raise TagSchemeError(f"tag {i}: {_not_a_tag(tag)}", index=i)
        if _chunk_ends(prev, cur):
            spans.append((prev.type, start, i))
        if _chunk_starts(prev, cur):
            start = i
        prev = cur
    return spans


# --- writing spans, and converting ------------------------------------------------------------------


def from_spans(spans: Iterable[Span], length: int, scheme: str) -> list[str]:
    """Write non-overlapping ``spans`` over ``length`` tokens as tags of ``scheme`` (iob1, iob2, bioes)."""
    scheme = _chunk_scheme(scheme)
    tags = ["O"] * length
    last_end, last_type = -1, ""
    for type_, start, end in sorted(spans, key=lambda span: span[1]):
        if not 0 <= start < end <= length:
            raise TagSchemeError(f"span {(type_, start, end)} does not fit in {length} tokens")
        if start < last_end:
            raise TagSchemeError(f"span {(type_, start, end)} overlaps the span before it")
        tags[start:end] = ["I-" + type_] * (end - start)
        if scheme == "iob2":
            tags[start] = "B-" + type_
        elif scheme == "iob1":
            if start == last_end and type_ == last_type:  # B- only splits two touching spans of a type
                tags[start] = "B-" + type_
        elif end - start == 1:
            tags[start] = "S-" + type_
        else:
            tags[start], tags[end - 1] = "B-" + type_, "E-" + type_
        last_end, last_type = end, type_
    return tags


def _chunk_scheme(scheme: str) -> str:
    name = normalize_scheme(scheme)
    if name == "none":
        raise TagSchemeError("scheme 'none' has no spans; conversion works between iob1, iob2 and bioes")
    return name


def convert(tags: Sequence[str], source: str, target: str, repair: bool = False) -> list[str]:
    """Rewrite ``tags`` from scheme ``source`` to ``target`` (any of iob1, iob2, bioes).

    The spans are kept exactly, so converting there and back is the identity on valid input. An
    invalid input raises :class:`TagSchemeError` naming the tag and what was expected, unless
    ``repair`` is set: then it is read leniently, as conlleval would score it, and written out valid.
    """
    if normalize_scheme(source) == normalize_scheme(target) == "none":
        return list(tags)  # plain labels: nothing to rewrite
    source, target = _chunk_scheme(source), _chunk_scheme(target)
    if not repair:
        violation = find_violation(tags, source)
        if violation is not None:
            index, reason = violation
            raise TagSchemeError(
                f"tag {index} is not valid {_DISPLAY[source]}: {reason} (repair=True reads it leniently)",
                index=index,
            )
    return from_spans(to_spans(tags, source), len(tags), target)


# --- constraints for a CRF --------------------------------------------------------------------------


def allowed_transitions(
    labels: Sequence[str], scheme: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Which label sequences a CRF over ``labels`` may produce under ``scheme``.

    Returns bool tensors ``(start [K], transitions [K, K], end [K])``: ``start[j]`` says label j may
    begin a sentence, ``transitions[i, j]`` that label j may follow label i, ``end[i]`` that label i
    may close a sentence. Indices follow the order of ``labels``. Labels that are not tags at all
    (``"<pad>"``, ``"<unk>"``) are left unconstrained; a tag of another scheme (E-PER under IOB2) is
    an error, since it almost always means the wrong scheme was configured.
    """
    scheme = normalize_scheme(scheme)
    k = len(labels)
    start = torch.ones(k, dtype=torch.bool)
    transitions = torch.ones(k, k, dtype=torch.bool)
    end = torch.ones(k, dtype=torch.bool)
    if scheme == "none":
        return start, transitions, end

    parsed: list[Tag | None] = [_split(label) for label in labels]
    for label, tag in zip(labels, parsed, strict=True):
        if tag is not None and tag.prefix != "O" and tag.prefix not in _PREFIXES[scheme]:
            raise TagSchemeError(f"label {label!r} is not used in {_DISPLAY[scheme]}; check the tag scheme")

    for i, prev in enumerate(parsed):
        if prev is None:
            continue
        start[i] = _transition_problem(None, prev, scheme) is None
        end[i] = _transition_problem(prev, None, scheme) is None
        for j, cur in enumerate(parsed):
            if cur is not None:
                transitions[i, j] = _transition_problem(prev, cur, scheme) is None
    return start, transitions, end
