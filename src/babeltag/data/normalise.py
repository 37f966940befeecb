"""Word normalisation applied before vocabulary look-up (the seeds' preprocessing options)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from babeltag.embeddings.transliterate import transliterate

_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Normaliser:
    """How a token is turned into the key of the word vocabulary and into characters.

    ``transliterate`` first rewrites the token in another script (a scheme of
    ``embeddings.transliterate``; a dataset's own option, since it is a language's),
    ``digits_to_zero`` maps every digit to ``0`` (so 1987 and 2003 share an embedding),
    ``lowercase_words`` lowercases the word key, ``lowercase_chars`` lowercases the character
    sequence, and ``max_word_chars`` cuts very long tokens (URLs) so one word cannot blow up the
    character tensor of a whole batch.
    """

    digits_to_zero: bool = False
    lowercase_words: bool = False
    lowercase_chars: bool = False
    max_word_chars: int = 30
    transliterate: str | None = None

    def written(self, token: str) -> str:
        """The token in the script the model reads it in."""
        return token if self.transliterate is None else transliterate(token, self.transliterate)

    def word(self, token: str) -> str:
        token = self.written(token)
        if self.digits_to_zero:
            token = _DIGIT.sub("0", token)
        if self.lowercase_words:
            token = token.lower()
        return token

    def chars(self, token: str) -> str:
        token = self.written(token)
        if self.digits_to_zero:
            token = _DIGIT.sub("0", token)
        if self.lowercase_chars:
            token = token.lower()
        return token[: self.max_word_chars]
