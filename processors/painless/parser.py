"""A recursive-descent parser for the Painless subset, producing a small syntax tree.

Everything the subset does not cover is rejected here, with the line, column and construct, so a pipeline
using it fails when it is stored rather than when documents arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.processors.painless.errors import compile_error
from ingest.processors.painless.lexer import Token, tokenize

TYPES = {"def", "var", "int", "long", "double", "float", "boolean", "String", "List", "Map", "Object",
         "ArrayList", "HashMap", "short", "byte", "char", "Integer", "Long", "Double", "Float", "Boolean"}
STATICS = {
    "Math": {"abs", "max", "min", "round", "floor", "ceil", "sqrt", "pow", "log", "exp"},
    "Integer": {"parseInt", "toString", "valueOf"}, "Long": {"parseLong", "toString", "valueOf"},
    "Double": {"parseDouble", "toString", "valueOf"}, "Float": {"parseFloat", "valueOf"},
    "String": {"valueOf", "join"}, "Boolean": {"parseBoolean", "valueOf"}, "Objects": {"equals", "isNull",
                                                                                      "nonNull"},
}
METHODS = {"contains", "startsWith", "endsWith", "toLowerCase", "toUpperCase", "trim", "size", "isEmpty",
           "containsKey", "get", "substring", "indexOf", "lastIndexOf", "replace", "splitOnToken", "length",
           "equals", "add", "addAll", "put", "putAll", "remove", "keySet", "values", "getOrDefault", "clear",
           "charAt", "toString", "containsValue", "join", "set", "sort", "concat", "equalsIgnoreCase",
           "compareTo", "isBlank", "strip"}
NEW_CLASSES = {"ArrayList": "list", "HashMap": "map", "LinkedHashMap": "map", "HashSet": "list"}
REJECTED = {"=~": "regex match operator", "==~": "regex match operator", "do": "do-while loop", "try": "try/catch", "catch": "try/catch", "throw": "throw statement",
            "switch": "switch statement", "class": "class declaration", "instanceof": "instanceof",
            "->": "lambda", "::": "method reference", "~": "bitwise operator [~]", "&": "bitwise operator [&]",
            "|": "bitwise operator [|]", "^": "bitwise operator [^]", "<<": "shift operator", ">>": "shift operator",
            "@": "annotation", "#": "character [#]", "final": "final modifier", "static": "static modifier"}
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%="}


@dataclass
class Node:
    """A syntax-tree node: ``kind`` plus children/values, with its source position."""

    kind: str
    args: list[Any] = field(default_factory=list)
    line: int = 0
    col: int = 0


class Parser:
    """Parses one script."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0

    # --- token helpers -----------------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "name") and self.tok.text in texts

    def take(self) -> Token:
        tok = self.tok
        if tok.text in REJECTED and tok.kind in ("op", "name"):
            raise compile_error(self.source, tok.line, tok.col, f"unsupported construct [{REJECTED[tok.text]}]")
        self.pos += 1
        return tok

    def expect(self, text: str) -> Token:
        if not self.at(text):
            self.fail(f"expected [{text}] but found [{self.tok.text}]")
        return self.take()

    def fail(self, what: str, tok: Token | None = None) -> None:
        tok = tok or self.tok
        if tok.text in REJECTED and tok.kind in ("op", "name"):
            what = f"unsupported construct [{REJECTED[tok.text]}]"
        raise compile_error(self.source, tok.line, tok.col, what)

    def node(self, kind: str, tok: Token, *args: object) -> Node:
        return Node(kind, list(args), tok.line, tok.col)

    # --- statements --------------------------------------------------------------------------------------
    def program(self) -> Node:
        """The whole script."""
        start = self.tok
        stmts = []
        while self.tok.kind != "eof":
            stmts.append(self.statement())
        return self.node("block", start, stmts)

    def statement(self) -> Node:
        tok = self.tok
        if self.at("{"):
            self.take()
            stmts = []
            while not self.at("}"):
                if self.tok.kind == "eof":
                    self.fail("missing [}]")
                stmts.append(self.statement())
            self.take()
            return self.node("block", tok, stmts)
        if self.at(";"):
            self.take()
            return self.node("block", tok, [])
        if self.at("if"):
            self.take()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            then = self.statement()
            other = None
            if self.at("else"):
                self.take()
                other = self.statement()
            return self.node("if", tok, cond, then, other)
        if self.at("for"):
            return self.for_statement()
        if self.at("while"):
            self.take()
            self.expect("(")
            cond = self.expression()
            self.expect(")")
            return self.node("while", tok, cond, self.statement())
        if self.at("return"):
            self.take()
            value = None if self.at(";", "}") or self.tok.kind == "eof" else self.expression()
            self.end_statement()
            return self.node("return", tok, value)
        if self.at("break", "continue"):
            self.take()
            self.end_statement()
            return self.node(tok.text, tok)
        if self.is_declaration():
            decl = self.declaration()
            self.end_statement()
            return decl
        expr = self.expression()
        self.end_statement()
        return self.node("expr", tok, expr)

    def end_statement(self) -> None:
        if self.at(";"):
            self.take()
        elif not self.at("}") and self.tok.kind != "eof":
            self.fail(f"expected [;] but found [{self.tok.text}]")

    def is_declaration(self) -> bool:
        if self.tok.kind != "name" or self.tok.text not in TYPES:
            return False
        nxt = self.peek()
        if nxt.text == "[" and self.peek(2).text == "]":
            self.fail("unsupported construct [array type]", nxt)
        return nxt.kind == "name"

    def declaration(self) -> Node:
        self.take()  # the type: values are dynamically typed here, as with def
        name = self.tok
        if name.kind != "name":
            self.fail("expected a variable name")
        self.take()
        if self.at("("):
            self.fail(f"unsupported construct [function definition {name.text}()]", name)
        value = None
        if self.at("="):
            self.take()
            value = self.expression()
        return self.node("decl", name, name.text, value)

    def for_statement(self) -> Node:
        tok = self.take()
        self.expect("(")
        # for (x in list) / for (def x : list)
        if self.tok.kind == "name" and (self.peek().text in ("in", ":") or
                                         (self.tok.text in TYPES and self.peek(2).text in ("in", ":"))):
            if self.peek().text not in ("in", ":"):
                self.take()
            var = self.take().text
            self.take()
            iterable = self.expression()
            self.expect(")")
            return self.node("forin", tok, var, iterable, self.statement())
        init = None
        if not self.at(";"):
            init = self.declaration() if self.is_declaration() else self.node("expr", self.tok, self.expression())
        self.expect(";")
        cond = None if self.at(";") else self.expression()
        self.expect(";")
        update = None if self.at(")") else self.expression()
        self.expect(")")
        return self.node("for", tok, init, cond, update, self.statement())

    # --- expressions -------------------------------------------------------------------------------------
    def expression(self) -> Node:
        """An expression, assignments included."""
        left = self.ternary()
        if self.tok.kind == "op" and self.tok.text in ASSIGN_OPS:
            tok = self.take()
            if left.kind not in ("var", "field", "index"):
                self.fail("invalid assignment target", tok)
            return self.node("assign", tok, tok.text, left, self.expression())
        return left

    def ternary(self) -> Node:
        cond = self.elvis()
        if self.at("?"):
            tok = self.take()
            then = self.expression()
            self.expect(":")
            return self.node("ternary", tok, cond, then, self.ternary())
        return cond

    def elvis(self) -> Node:
        left = self.binary(0)
        if self.at("?:"):
            tok = self.take()
            return self.node("elvis", tok, left, self.elvis())
        return left

    _LEVELS = (("||",), ("&&",), ("==", "!=", "===", "!=="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.text in self._LEVELS[level]:
            tok = self.take()
            right = self.binary(level + 1)
            kind = {"||": "or", "&&": "and"}.get(tok.text, "binary")
            left = self.node(kind, tok, tok.text, left, right) if kind == "binary" else self.node(kind, tok, left,
                                                                                               right)
        if self.at("instanceof", "=~", "==~", "&", "|", "^", "<<", ">>"):
            self.fail(f"unsupported operator [{self.tok.text}]")
        return left

    def unary(self) -> Node:
        tok = self.tok
        if self.at("!", "-", "+"):
            self.take()
            return self.node("unary", tok, tok.text, self.unary())
        if self.at("++", "--"):
            self.take()
            target = self.unary()
            return self.node("incdec", tok, tok.text, target, True)
        if self.at("(") and self.peek().kind == "name" and self.peek().text in TYPES and self.peek(2).text == ")":
            self.take()
            type_name = self.take().text
            self.take()
            return self.node("cast", tok, type_name, self.unary())
        return self.postfix()

    def postfix(self) -> Node:
        expr = self.primary()
        while True:
            tok = self.tok
            if self.at(".", "?."):
                self.take()
                name = self.tok
                if name.kind != "name":
                    self.fail("expected a field or method name")
                self.take()
                nullsafe = tok.text == "?."
                if self.at("("):
                    if name.text not in METHODS:
                        self.fail(f"unsupported method [{name.text}]", name)
                    expr = self.node("call", name, expr, name.text, self.arguments(), nullsafe)
                else:
                    expr = self.node("field", name, expr, name.text, nullsafe)
            elif self.at("["):
                self.take()
                index = self.expression()
                self.expect("]")
                expr = self.node("index", tok, expr, index)
            elif self.at("++", "--"):
                self.take()
                return self.node("incdec", tok, tok.text, expr, False)
            else:
                return expr

    def arguments(self) -> list[Node]:
        self.expect("(")
        args = []
        while not self.at(")"):
            args.append(self.expression())
            if not self.at(")"):
                self.expect(",")
        self.take()
        return args

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("num", "str"):
            self.take()
            return self.node("literal", tok, tok.value)
        if tok.kind == "name":
            if tok.text in ("true", "false", "null"):
                self.take()
                return self.node("literal", tok, {"true": True, "false": False, "null": None}[tok.text])
            if tok.text == "new":
                self.take()
                cls = self.take()
                if cls.text not in NEW_CLASSES:
                    self.fail(f"unsupported construct [new {cls.text}]", cls)
                if self.at("<"):  # generics: new ArrayList<>()
                    while not self.at(">"):
                        self.take()
                    self.take()
                self.arguments()
                return self.node("new", tok, NEW_CLASSES[cls.text])
            if tok.text in STATICS and self.peek().text == ".":
                self.take()
                self.take()
                name = self.take()
                if name.text not in STATICS[tok.text]:
                    self.fail(f"unsupported method [{tok.text}.{name.text}]", name)
                return self.node("static", tok, tok.text, name.text, self.arguments())
            if tok.text[:1].isupper() and self.peek().text == ".":
                self.fail(f"unsupported class [{tok.text}]")
            if tok.text in REJECTED or tok.text in ("if", "for", "while", "else", "return"):
                self.fail(f"unexpected [{tok.text}]")
            self.take()
            if self.at("("):
                self.fail(f"unsupported construct [function call {tok.text}()]", tok)
            return self.node("var", tok, tok.text)
        if self.at("("):
            self.take()
            expr = self.expression()
            self.expect(")")
            return expr
        if self.at("["):
            return self.collection()
        if self.at("/"):
            self.fail("unsupported construct [regex literal]")
        self.fail(f"unexpected [{tok.text}]")
        raise AssertionError  # unreachable: fail raises

    def collection(self) -> Node:
        tok = self.take()
        if self.at(":") and self.peek().text == "]":
            self.take()
            self.take()
            return self.node("mapinit", tok, [])
        items: list[Node] = []
        pairs: list[tuple[Node, Node]] = []
        while not self.at("]"):
            key = self.expression()
            if self.at(":"):
                self.take()
                pairs.append((key, self.expression()))
            else:
                items.append(key)
            if not self.at("]"):
                self.expect(",")
        self.take()
        if pairs and items:
            self.fail("mixed list and map initializer", tok)
        return self.node("mapinit", tok, pairs) if pairs else self.node("listinit", tok, items)


def parse(source: str) -> Node:
    """Parse a script into its syntax tree (raises script_exception on anything outside the subset)."""
    return Parser(source).program()
