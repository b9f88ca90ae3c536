"""Tokens of the Painless subset."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.processors.painless.errors import compile_error


@dataclass(frozen=True)
class Token:
    """One token with its 1-based line and column."""

    kind: str  # "num", "str", "name", "op", "eof"
    text: str
    value: object
    line: int
    col: int


_OPS = sorted(["==~", "=~", "?.", "?:", "===", "!==", "==", "!=", "<=", ">=", "&&", "||", "++", "--", "+=", "-=", "*=",
               "/=", "%=", "->", "::", "<<", ">>", "+", "-", "*", "/", "%", "<", ">", "!", "=", "?", ":", ".",
               ",", ";", "(", ")", "[", "]", "{", "}", "&", "|", "^", "~", "@", "#"], key=len, reverse=True)
_TOKEN = re.compile(
    r"(?P<ws>[ \t\r\n]+|//[^\n]*|/\*.*?\*/)"
    r"|(?P<num>0[xX][0-9a-fA-F]+[lL]?|(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?[lLfFdD]?)"
    r"|(?P<str>'(?:\\.|[^'\\])*'|\"(?:\\.|[^\"\\])*\")"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>" + "|".join(re.escape(o) for o in _OPS) + ")",
    re.S,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"'}


def _number(text: str) -> object:
    body = text.rstrip("lLfFdD")
    if text[:2] in ("0x", "0X"):
        return int(body, 16)
    if text[-1:] in "fFdD" or any(c in body for c in ".eE"):
        return float(body)
    return int(body)


def tokenize(source: str) -> list[Token]:
    """Split a script into tokens; unknown characters are compile errors with their position."""
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        col = pos - line_start + 1
        if match is None:
            raise compile_error(source, line, col, f"unexpected character [{source[pos]}]")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "num":
            tokens.append(Token("num", text, _number(text), line, col))
        elif kind == "str":
            value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
            tokens.append(Token("str", text, value, line, col))
        elif kind != "ws":
            tokens.append(Token(kind, text, text, line, col))
        newlines = text.count("\n")
        if newlines:
            line += newlines
            line_start = pos + text.rindex("\n") + 1
        pos = match.end()
    tokens.append(Token("eof", "<end of script>", None, line, pos - line_start + 1))
    return tokens
