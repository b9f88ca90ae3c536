"""redact against Elasticsearch's documented examples and RedactProcessorTests' overlap rules."""

from __future__ import annotations

import pytest

from processors import parse_pipeline
from processors.errors import ParseException
from processors.grok.expression import GrokExpression
from processors.grok.library import builtin_patterns
from processors.redact import redact
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
