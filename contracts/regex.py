r"""Regular expressions that see untrusted text, on RE2: time linear in the text, whatever the
pattern.

Python's `re` backtracks: a trigger's `subject_regex: ^(a+)+$`, an input schema's
`pattern: ^(a|aa)+$`, or a pattern of our own with overlapping quantifiers takes quadratic or
exponential time on a crafted string. RE2 runs every pattern as an automaton, so no pattern can
do that. It has no backreferences and no lookaround: a pattern that needs them is refused where
it is declared (`RegexError`), never run on another engine.

Two differences from `re` that the callers rely on: `\\d`, `\\w` and `\\b` are ASCII (as in
JSON Schema's ECMA-262 dialect without the `u` flag), and `\\s` is ASCII whitespace, so
`unicode_spaces_as_space` maps every other space to ' ' first where that matters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2


class RegexError(ValueError):
    """The pattern is not one RE2 can run."""


class Regex:
    """A compiled RE2 pattern. Text that UTF-8 cannot encode (a lone surrogate) is searched
    with each such character read as '?', so the positions of matches stay the same."""

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        options = re2.Options()
        options.log_errors = False  # a refused pattern is an answer, not a log line
        options.case_sensitive = not ignore_case
        try:
            self._compiled: Any = re2.compile(pattern, options)
        except (re2.error, UnicodeError, TypeError) as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode(errors="replace")
            raise RegexError(f"not a pattern the linear-time engine (RE2) runs: {reason}") from None
        self.pattern = pattern

    def search(self, text: str) -> Any:
        return self._compiled.search(_encodable(text))

    def fullmatch(self, text: str) -> Any:
        return self._compiled.fullmatch(_encodable(text))

    def match(self, text: str) -> Any:
        return self._compiled.match(_encodable(text))

    def finditer(self, text: str) -> Any:
        return self._compiled.finditer(_encodable(text))

    def findall(self, text: str) -> list[Any]:
        return list(self._compiled.findall(_encodable(text)))

    def sub(self, replacement: str, text: str) -> str:
        return str(self._compiled.sub(replacement, _encodable(text)))


class RegexSet:
    """Many patterns run over a text in one pass: which of them occur (RE2's set matching)."""

    def __init__(self, patterns: list[str], ignore_case: bool = False) -> None:
        options = re2.Options()
        options.log_errors = False
        options.case_sensitive = not ignore_case
        self._set: Any = re2.Set.SearchSet(options)
        for pattern in patterns:
            if self._set.Add(pattern) < 0:
                raise RegexError(f"not a pattern the linear-time engine (RE2) runs: {pattern}")
        self._set.Compile()

    def matching(self, text: str) -> list[int]:
        """The indices of the patterns that occur in `text`, in order."""
        return sorted(self._set.Match(_encodable(text)) or ())


@lru_cache(maxsize=1024)
def linear(pattern: str, ignore_case: bool = False) -> Regex:
    """The pattern compiled for RE2, once per pattern (schemas and configs repeat theirs)."""
    return Regex(pattern, ignore_case)


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` (from a schema or a config: compiled once, cached) occurs in `text`."""
    return linear(pattern).search(text) is not None


def _encodable(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode()
    return text


# Python's `str.isspace()` characters that RE2's ASCII `\s` ([\t\n\f\r ]) does not match
# (a unit test keeps the list equal to Python's).
OTHER_SPACES = "\x0b\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006" + (
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_AS_SPACE = str.maketrans(OTHER_SPACES, " " * len(OTHER_SPACES))


_ASCII_OTHER_SPACES = [c for c in OTHER_SPACES if c.isascii()]


def unicode_spaces_as_space(text: str) -> str:
    """The text with every Unicode space (no-break, ideographic, vertical tab, ...) as ' ',
    character for character, so an ASCII `\\s` sees the separators `re` would have."""
    if text.isascii() and not any(c in text for c in _ASCII_OTHER_SPACES):
        return text  # the common case, without a copy
    return text.translate(_AS_SPACE)
