"""Which layer names a shell glob can select, decided before a forward pass.

A module tapped more than once per forward pass reports ``name``, then ``name:2``, ``name:3``, ...
so a glob can select a module through any of those. ``can_select`` answers without knowing how
many calls there will be: it runs the glob as a small automaton over ``name:`` followed by any
non-empty run of digits.
"""
from __future__ import annotations

import fnmatch
import functools
import re

_TOKEN = re.compile(r"\*|\?|\[!?\]?[^\]]*\]|.", re.DOTALL)
_DIGITS = "0123456789"


@functools.lru_cache(maxsize=256)
def _tokens(pattern: str) -> tuple[str, ...]:
    """The glob as tokens: ``*``, ``?``, a bracket set, or one literal character."""
    return tuple(_TOKEN.findall(pattern))


def _closure(tokens: tuple[str, ...], states: set[int]) -> set[int]:
    """States reachable without consuming a character (``*`` may match nothing)."""
    out, stack = set(states), list(states)
    while stack:
        i = stack.pop()
        if i < len(tokens) and tokens[i] == "*" and i + 1 not in out:
            out.add(i + 1)
            stack.append(i + 1)
    return out


def _step(tokens: tuple[str, ...], states: set[int], ch: str) -> set[int]:
    nxt = {i if tokens[i] == "*" else i + 1 for i in states
           if i < len(tokens) and (tokens[i] == "*" or fnmatch.fnmatchcase(ch, tokens[i]))}
    return _closure(tokens, nxt)


def _matches_digits(rest: tuple[str, ...]) -> bool:
    """Whether ``rest`` matches some non-empty string of digits."""
    return bool(rest) and all(t == "*" or any(fnmatch.fnmatchcase(d, t) for d in _DIGITS) for t in rest)


def can_select(pattern: str, name: str) -> bool:
    """Whether the glob ``pattern`` matches ``name`` or a later call of it, ``name:<k>``."""
    if fnmatch.fnmatchcase(name, pattern):
        return True
    tokens = _tokens(pattern)
    states = _closure(tokens, {0})
    for ch in name + ":":
        states = _step(tokens, states, ch)
        if not states:
            return False
    return any(_matches_digits(tokens[i:]) for i in states)
