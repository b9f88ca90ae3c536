"""redact against Elasticsearch's documented examples and RedactProcessorTests' overlap rules."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.errors import ParseException
from ingest.processors.grok.expression import GrokExpression
from ingest.processors.grok.library import builtin_patterns
from ingest.processors.redact import redact
from tests.processors.helpers import error_of, run, source_of


def test_docs_example_ip() -> None:
    out = source_of([{"redact": {"field": "message", "patterns": ["%{IP:client}"]}}],
                    {"message": "55.3.244.1 GET /index.html 15824 0.043"})
    assert out["message"] == "<client> GET /index.html 15824 0.043"


def test_docs_example_custom_pattern_and_tokens() -> None:
    procs = [{"redact": {"field": "message", "prefix": "*", "suffix": "*",
                         "patterns": ["%{EMAILADDRESS:EMAIL_REDACTED}", "%{IP:IP_REDACTED}",
                                      "%{CREDIT_CARD:CREDIT_CARD}"],
                         "pattern_definitions": {"CREDIT_CARD": r"\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}"}}}]
    out = source_of(procs, {"message": "jane@example.com paid with 1111-2222-3333-4444 from 10.1.2.3 and 10.1.2.4"})
    assert out["message"] == "*EMAIL_REDACTED* paid with *CREDIT_CARD* from *IP_REDACTED* and *IP_REDACTED*"


def test_overlapping_matches_take_the_longest_name() -> None:
    bank = dict(builtin_patterns("v1"))
    bank.update({"SHORT": "abc", "LONG": "abcdef", "LATE": "def"})
    exprs = [(GrokExpression(bank, f"%{{{n}:{n}}}"), n) for n in ("SHORT", "LONG", "LATE")]
    assert redact("xx abcdef yy", exprs, "<", ">") == "xx <LONG> yy"
    assert redact("nothing here", exprs, "<", ">") == "nothing here"


def test_missing_and_errors() -> None:
    assert source_of([{"redact": {"field": "m", "patterns": ["%{IP:ip}"]}}], {}) == {}  # ignore_missing: true
    assert error_of([{"redact": {"field": "m", "patterns": ["%{IP:ip}"], "ignore_missing": False}}], {})["reason"] \
        == "field [m] is null or missing"
    assert error_of([{"redact": {"field": "m", "patterns": ["%{IP:ip}"]}}], {"m": 5})["reason"] == \
        "field [m] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
    with pytest.raises(ParseException, match=r"\[patterns\] List of patterns must not be empty"):
        parse_pipeline("p", {"processors": [{"redact": {"field": "m", "patterns": []}}]})
    with pytest.raises(ParseException, match=r"Invalid regex pattern found in: \[%\{NOPE:x\}\]"):
        parse_pipeline("p", {"processors": [{"redact": {"field": "m", "patterns": ["%{NOPE:x}"]}}]})


def test_trace_redact() -> None:
    docs = run([{"redact": {"field": "m", "patterns": ["%{IP:ip}"], "trace_redact": True}}],
               [{"m": "from 1.2.3.4"}, {"m": "clean"}])
    assert docs[0]["doc"]["_ingest"]["_redact"] == {"_is_redacted": True}
    assert "_redact" not in docs[1]["doc"]["_ingest"]


def _redactor(patterns: list[str], definitions: dict[str, str] | None = None) -> Any:
    bank = dict(builtin_patterns("v1"))
    bank.update(definitions or {})
    exprs = [GrokExpression(bank, p) for p in patterns]
    return lambda text, prefix="<", suffix=">": redact(text, [(e, e.captures[0].field) for e in exprs], prefix,
                                                       suffix)


def test_elasticsearch_match_redact_cases() -> None:
    # RedactProcessorTests.testMatchRedact / testMatchRedactMultipleGroks
    email = _redactor(["%{EMAILADDRESS:EMAIL}"])
    assert email("thisisanemail@address.com will be redacted thisisdifferent@address.com") == \
        "<EMAIL> will be redacted <EMAIL>"
    assert email("This is ok nothing to redact") == "This is ok nothing to redact"
    card = _redactor(["%{CREDIT_CARD:CREDIT_CARD}"], {"CREDIT_CARD": r"\b(?:\d[ -]*?){13,16}\b"})
    assert card("1001-1002-1003-1004 some text in between 2001-1002-1003-1004 3001-1002-1003-1004 "
                "4001-1002-1003-1004") == "<CREDIT_CARD> some text in between <CREDIT_CARD> <CREDIT_CARD> <CREDIT_CARD>"
    number = _redactor(["%{NUMBER:NUMBER}"], {"NUMBER": r"\d{4}"})
    assert number("1001", "_prefix_", "_suffix_") == "_prefix_NUMBER_suffix_"
    many = _redactor(["%{EMAILADDRESS:EMAIL}", "%{IP:IP_ADDRESS}", "%{CREDIT_CARD:CREDIT_CARD}"],
                     {"CREDIT_CARD": r"\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{4}"})
    assert many("thisisanemail@address.com will be redacted and this: 0001-0002-0003-0004 some other text") == \
        "<EMAIL> will be redacted and this: <CREDIT_CARD> some other text"
    assert _redactor(["%{IP:IP_ADDRESS}"])("0.0.0.1 will be redacted", "?--", "}") == \
        "?--IP_ADDRESS} will be redacted"


@pytest.mark.parametrize(("spans", "expected"), [
    # RedactProcessorTests.testMergeOverlappingReplacements_*
    ([(35, 40, "A"), (5, 12, "B"), (30, 34, "B"), (21, 29, "C")],
     [(5, 12, "B"), (21, 29, "C"), (30, 34, "B"), (35, 40, "A")]),
    ([(35, 40, "A"), (5, 10, "B"), (10, 15, "B"), (14, 29, "C")], [(5, 29, "C"), (35, 40, "A")]),
    ([(20, 28, "A"), (50, 60, "A"), (30, 39, "B"), (59, 65, "B"), (14, 18, "C")],
     [(14, 18, "C"), (20, 28, "A"), (30, 39, "B"), (50, 65, "A")]),
    ([(20, 28, "A"), (50, 60, "A"), (22, 26, "B")], [(20, 28, "A"), (50, 60, "A")]),
    ([(20, 28, "A"), (50, 60, "A"), (14, 21, "B"), (30, 36, "B"), (44, 51, "C"), (62, 70, "C")],
     [(14, 28, "A"), (30, 36, "B"), (44, 60, "A"), (62, 70, "C")]),
    ([(10, 20, "first"), (15, 28, "longest"), (22, 29, "third")], [(10, 29, "longest")]),
])
def test_elasticsearch_merge_cases(spans: list[tuple[int, int, str]], expected: list[tuple[int, int, str]]) -> None:
    from ingest.processors.redact import _merge, _Span

    merged = _merge([_Span(*s) for s in spans])
    assert [(m.start, m.end, m.name) for m in merged] == expected


def test_pattern_without_a_name_fails_when_it_matches() -> None:
    procs = [{"redact": {"field": "m", "patterns": ["foo"]}}]
    assert source_of(procs, {"x": 1}) == {"x": 1}  # accepted, as Elasticsearch does
    assert "has no named capture" in error_of(procs, {"m": "a foo"})["reason"]
    assert source_of(procs, {"m": "bar"}) == {"m": "bar"}
