"""The Painless subset: what it runs, what it rejects, and its limits."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.processors.document import IngestDocument
from ingest.processors.errors import ScriptException
from ingest.processors.painless import compile_script, limits


def _run(source: str, ctx: dict[str, Any] | None = None, params: dict[str, Any] | None = None) -> Any:
    doc = IngestDocument.from_source(ctx or {})
    return compile_script(source, params or {}).run(doc), doc.ctx


@pytest.mark.parametrize(("source", "ctx", "expected"), [
    ("ctx.a.b + 1", {"a": {"b": 2}}, 3),
    ("ctx['a.b']", {"a.b": "dotted"}, "dotted"),
    ("ctx.a?.b?.c", {}, None),
    ("ctx.n / 2", {"n": 7}, 3),
    ("ctx.n / 2.0", {"n": 7}, 3.5),
    ("-7 / 2", {}, -3),
    ("-7 % 3", {}, -1),
    ("'a' + 1 + 2", {}, "a12"),
    ("1 + 2 + 'a'", {}, "3a"),
    ("'x' + null", {}, "xnull"),
    ("ctx.s.toLowerCase().trim().startsWith('he')", {"s": " HELLO "}, True),
    ("ctx.s.substring(1, 3)", {"s": "hello"}, "el"),
    ("ctx.s.indexOf('l')", {"s": "hello"}, 2),
    ("ctx.s.replace('l', 'L')", {"s": "hello"}, "heLLo"),
    ("ctx.s.splitOnToken('.')", {"s": "a.b.c"}, ["a", "b", "c"]),
    ("ctx.tags.contains('prod') && ctx.tags.size() == 2", {"tags": ["prod", "x"]}, True),
    ("ctx.m.containsKey('k') ? ctx.m.get('k') : 'none'", {"m": {"k": "v"}}, "v"),
    ("ctx.missing ?: 'default'", {}, "default"),
    ("ctx.list.isEmpty() || ctx.list[0] > 5", {"list": [9]}, True),
    ("params.factor * ctx.v", {"v": 3}, 6),
    ("(long) ctx.d", {"d": 3.9}, 3),
    ("Math.max(ctx.a, 10)", {"a": 3}, 10),
    ("Integer.parseInt(ctx.s) + 1", {"s": "41"}, 42),
    ("def total = 0; for (def x : ctx.nums) { if (x < 0) { continue; } total += x; } return total;",
     {"nums": [1, -5, 2, 3]}, 6),
    ("int n = 0; for (int i = 0; i < 10; i++) { if (i == 4) { break; } n++; } return n;", {}, 4),
    ("def out = []; for (item in ctx.items) { out.add(item.name); } return out.join(',');",
     {"items": [{"name": "a"}, {"name": "b"}]}, "a,b"),
    ("def m = ['a': 1, 'b': 2]; return m.b;", {}, 2),
    ("ctx.a == 1 != false", {"a": 1}, True),
    ("!(ctx.a > 1)", {"a": 1}, True),
])
def test_supported_expressions(source: str, ctx: dict[str, Any], expected: Any) -> None:
    result, _ = _run(source, ctx, {"factor": 2})
    assert result == expected


def test_assignments_and_remove_change_the_document() -> None:
    _, ctx = _run("ctx.count += 1; ctx.new = ctx.old; ctx.remove('old'); ctx.tags.add('x'); "
                  "if (ctx.count > 1) { ctx.big = true } else { ctx.big = false }",
                  {"count": 1, "old": "v", "tags": []})
    assert ctx == {"count": 2, "new": "v", "tags": ["x"], "big": True}


@pytest.mark.parametrize(("source", "construct", "line", "col"), [
    ("ctx.x = y -> y", "lambda", 1, 11),
    ("ctx.list.stream()", "unsupported method [stream]", 1, 10),
    ("if (ctx.a instanceof String) {}", "instanceof", 1, 11),
    ("try { ctx.a = 1 } catch (Exception e) {}", "try/catch", 1, 1),
    ("ctx.a = ctx.b & 1", "bitwise operator [&]", 1, 15),
    ("ctx.a =~ /x/", "regex match operator", 1, 7),
    ("def f() { return 1 }", "function definition f()", 1, 5),
    ("ctx.a = new Foo()", "new Foo", 1, 13),
    ("ctx.a = 1;\n  do { } while (true)", "do-while loop", 2, 3),
    ("ctx.a = Base64.encode('x')", "unsupported class [Base64]", 1, 9),
])
def test_rejected_with_line_column_and_construct(source: str, construct: str, line: int, col: int) -> None:
    with pytest.raises(ScriptException) as info:
        compile_script(source, {})
    reason = info.value.caused_by.reason  # type: ignore[union-attr]
    assert construct in reason, reason
    assert f"at line {line}, column {col}" in reason, reason


def test_runtime_errors_are_script_exceptions() -> None:
    with pytest.raises(ScriptException) as info:
        _run("ctx.a.b.c", {"a": {}})
    assert info.value.reason == "runtime error"
    assert info.value.caused_by is not None and info.value.caused_by.error_type == "null_pointer_exception"
    with pytest.raises(ScriptException):
        _run("ctx.s.size()", {"s": 3})


def test_loops_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_LOOP_ITERATIONS", 1000)
    with pytest.raises(ScriptException) as info:
        _run("while (true) { }")
    assert "maximum number of statements" in info.value.caused_by.reason  # type: ignore[union-attr]


def test_time_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SECONDS", 0.0)
    with pytest.raises(ScriptException) as info:
        _run("def i = 0; while (i < 100000) { i++ }")
    assert "seconds" in info.value.caused_by.reason  # type: ignore[union-attr]


def test_condition_must_be_boolean() -> None:
    script = compile_script("ctx.a", {}, condition=True)
    with pytest.raises(ScriptException):
        script.test(IngestDocument.from_source({"a": "yes"}))
