"""Translate the Oniguruma (Ruby syntax) regular expressions grok patterns are written in to Python's ``re``.

Elasticsearch compiles grok with Joni, Java's port of Oniguruma. Python 3.11's ``re`` already has atomic groups
and possessive quantifiers; what differs is handled here: named groups (any characters, repeatable), inline
flags mid-pattern (``(?m)`` is Ruby's dot-all), ASCII ``\\w``/``\\d``/``\\s``, ``\\h``, ``\\z``/``\\Z``, stacked
repeats, POSIX brackets and nested classes.
Anything we cannot express raises ``ValueError`` naming the construct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Ruby's inline flags → Python's: Ruby ``m`` is Python's ``s`` (dot matches newline).
_FLAGS = {"i": "i", "m": "s", "x": "x"}
# Joni (Ruby syntax) reads \\w \\d \\s \\h as ASCII classes, while \\b and the POSIX brackets are Unicode-aware.
_ASCII = {"w": "a-zA-Z0-9_", "d": "0-9", "s": r"\t\n\v\f\r ", "h": "0-9a-fA-F"}
# POSIX brackets as class fragments, or (``alt``) as a standalone regex where Python has no class syntax for them.
_POSIX: dict[str, tuple[str, str]] = {
    "alnum": ("alt", r"[^\W_]"), "alpha": ("alt", r"[^\W\d_]"), "digit": ("frag", r"\d"), "space": ("frag", r"\s"),
    "word": ("frag", r"\w"), "xdigit": ("frag", _ASCII["h"]), "upper": ("frag", "A-Z"), "lower": ("frag", "a-z"),
    "blank": ("frag", r" \t"), "cntrl": ("frag", r"\x00-\x1f\x7f"), "punct": ("frag", r"!-/:-@\[-`{-~"),
    "graph": ("frag", "!-~"), "print": ("frag", " -~"), "ascii": ("frag", r"\x00-\x7f"),
}
_SIMPLE_ESCAPES = {"z": r"\Z", "Z": r"(?=\n?\Z)", "e": r"\x1b"}


@dataclass
class Translated:
    """A Python regex and, for each of its groups ``g0, g1, …``, the Oniguruma group name it stands for."""

    regex: str
    names: list[str] = field(default_factory=list)


_INTERVAL = re.compile(r"\{(?:\d+(?:,\d*)?|,\d+)\}")


class _Scanner:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.names: list[str] = []
        # One entry per open group: [inline-flag scopes opened inside it (closed with it), its index in out].
        self.groups: list[list[int]] = [[0, 0]]
        # Where the last atom starts in ``out`` (None after "|" or "("), and the quantifiers applied to it.
        self.atom: int | None = None
        self.quantifiers = ""

    def error(self, what: str) -> ValueError:
        return ValueError(f"{what} at position {self.pos} is not supported in [{self.src}]")

    def run(self) -> Translated:
        src = self.src
        while self.pos < len(src):
            ch = src[self.pos]
            interval = _INTERVAL.match(src, self.pos) if ch == "{" else None
            if ch in "*+?" or interval:
                self._quantifier(interval.group() if interval else ch)
                continue
            self.atom, self.quantifiers = len(self.out), ""
            if ch == "\\":
                self.out.append(self._escape_outside())
            elif ch == "[":
                self.out.append(self._char_class())
            elif ch == "(":
                self._open_group()
                self.atom = None
            elif ch == ")":
                if len(self.groups) == 1:
                    raise ValueError("unmatched close parenthesis")
                extra, start = self.groups.pop()
                self.out.append(")" * extra + ")")
                self.atom = start
                self.pos += 1
            else:
                self.out.append("\\{" if ch == "{" else ch)  # a "{" that is no interval is literal in Ruby
                if ch == "|":
                    self.atom = None
                self.pos += 1
        if len(self.groups) != 1:
            raise ValueError("end pattern with unmatched parenthesis")
        self.out.append(")" * self.groups[0][0])
        return Translated("".join(self.out), self.names)

    def _quantifier(self, token: str) -> None:
        """Ruby reads ``a?*`` as ``(?:a?)*`` and ``a{2}+`` as ``(?:a{2})+``; Python rejects the first and makes the
        second possessive, so stacked repeats get an explicit group. ``*?``/``??``/``+?``/``{n}?`` stay lazy and
        ``*+``/``?+``/``++`` possessive, as in both."""
        self.pos += len(token)
        done = self.quantifiers
        bare = done in ("*", "+", "?") or (done.startswith("{") and done.endswith("}"))
        if self.atom is None or not done:
            self.quantifiers = token
        elif bare and (token == "?" or (token == "+" and not done.startswith("{"))):
            self.quantifiers = done + token  # lazy or possessive
        else:
            self.out.insert(self.atom, "(?:")
            self.out.append(")")
            self.quantifiers = token
        self.out.append(token)

    def _escape(self) -> tuple[str, str]:
        """One escape: ``("frag", text)`` usable inside a class, or ``("alt", regex)`` usable only outside one."""
        src = self.src
        if self.pos + 1 >= len(src):
            raise ValueError("end pattern at escape")
        ch = src[self.pos + 1]
        self.pos += 2
        if ch in _ASCII:
            return "frag", _ASCII[ch]
        if ch.lower() in _ASCII:
            return "alt", f"[^{_ASCII[ch.lower()]}]"
        if ch == "x" and self.pos < len(src) and src[self.pos] == "{":
            end = src.find("}", self.pos)
            if end == -1:
                raise self.error("\\x{")
            code = int(src[self.pos + 1:end], 16)
            self.pos = end + 1
            return "frag", f"\\U{code:08x}"
        if ch in "GkgpPKRXyY":
            raise self.error(f"\\{ch}")
        return "frag", "\\" + ch

    def _escape_outside(self) -> str:
        ch = self.src[self.pos + 1:self.pos + 2]
        if ch in _SIMPLE_ESCAPES:
            self.pos += 2
            return _SIMPLE_ESCAPES[ch]
        kind, text = self._escape()
        return f"[{text}]" if kind == "frag" and ch in _ASCII else text

    def _open_group(self) -> None:
        src, start = self.src, self.pos
        if not src.startswith("(?", start):
            # Ruby syntax: with named groups present, plain groups do not capture; we read named ones only.
            self.out.append("(?:")
            self.groups.append([0, len(self.out) - 1])
            self.pos += 1
            return
        rest = src[start + 2:]
        if rest.startswith("#"):
            end = src.find(")", start)
            if end == -1:
                raise ValueError(f"end pattern in group comment in [{src}]")
            self.pos = end + 1
            return
        if (rest[:1] == "<" and rest[1:2] not in ("=", "!")) or rest[:1] == "'":
            close = ">" if rest[0] == "<" else "'"
            end = src.find(close, start + 3)
            if end == -1:
                raise ValueError(f"invalid group name at position {start} in [{src}]")
            self.names.append(src[start + 3:end])
            self.out.append(f"(?P<g{len(self.names) - 1}>")
            self.groups.append([0, len(self.out) - 1])
            self.pos = end + 1
            return
        for prefix in (":", "=", "!", "<=", "<!", ">"):
            if rest.startswith(prefix):
                self.out.append("(?" + prefix)
                self.groups.append([0, len(self.out) - 1])
                self.pos = start + 2 + len(prefix)
                return
        # Inline options: ``(?imx-imx)`` for the rest of the enclosing group, or ``(?imx-imx:subexp)``.
        i = 0
        while i < len(rest) and (rest[i] in _FLAGS or rest[i] == "-"):
            i += 1
        if i == 0 or i >= len(rest) or rest[i] not in ":)":
            raise self.error("group syntax (?" + rest[:1])
        on, _, off = rest[:i].partition("-")
        flags = "".join(_FLAGS[c] for c in on) + ("-" + "".join(_FLAGS[c] for c in off) if off else "")
        self.out.append(f"(?{flags}:")
        if rest[i] == ":":
            self.groups.append([0, len(self.out) - 1])
        else:
            self.groups[-1][0] += 1
        self.pos = start + 2 + i + 1

    def _char_class(self) -> str:
        negated, frags, alts = self._class_body()
        if not alts:
            return "[" + ("^" if negated else "") + "".join(frags) + "]"
        either = "|".join(alts)
        if negated:
            rest = "[^" + "".join(frags) + "]" if frags else "(?s:.)"
            return f"(?:(?!{either}){rest})"
        return "(?:" + "|".join(([f"[{''.join(frags)}]"] if frags else []) + alts) + ")"

    def _class_body(self) -> tuple[bool, list[str], list[str]]:
        src = self.src
        self.pos += 1  # the "["
        negated = src.startswith("^", self.pos)
        if negated:
            self.pos += 1
        frags: list[str] = []
        alts: list[str] = []
        first = True
        while True:
            if self.pos >= len(src):
                raise ValueError("premature end of char-class")
            ch = src[self.pos]
            if ch == "]" and not first:
                self.pos += 1
                return negated, frags, alts
            if ch == "\\":
                kind, text = self._escape()
                (frags if kind == "frag" else alts).append(text)
            elif src.startswith("[:", self.pos):
                end = src.find(":]", self.pos + 2)
                name = src[self.pos + 2:end] if end != -1 else ""
                if name not in _POSIX:
                    raise self.error(f"POSIX bracket [:{name}:]")
                kind, text = _POSIX[name]
                (frags if kind == "frag" else alts).append(text)
                self.pos = end + 2
            elif ch == "[":
                inner_negated, inner_frags, inner_alts = self._class_body()
                if inner_negated:
                    raise self.error("a negated nested character class")
                frags.extend(inner_frags)
                alts.extend(inner_alts)
            elif src.startswith("&&", self.pos):
                raise self.error("character class intersection &&")
            elif ch == "]":  # a leading "]" is literal in Python, an empty class in Oniguruma
                raise self.error("an empty character class")
            else:
                frags.append(ch)
                self.pos += 1
            first = False


def translate(pattern: str) -> Translated:
    """The Python equivalent of one Oniguruma expression, with its named groups renumbered ``g0, g1, …``."""
    return _Scanner(pattern).run()
