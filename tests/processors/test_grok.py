"""The grok processor and its pattern library, without a cluster (tests/processors/test_grok_es.py compares
the same cases with a real Elasticsearch node)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.errors import ParseException
from ingest.processors.grok.expression import GrokExpression
from ingest.processors.grok.library import builtin_patterns, parse_pattern_file
from ingest.processors.grok.onig import translate
from tests.processors.helpers import error_of, run, source_of

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
          'kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" '
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"')


def grok(**options: Any) -> list[dict[str, Any]]:
    return [{"grok": {"field": "message", **options}}]


# --- the pattern library ---------------------------------------------------------------------------------

def test_both_banks_load_from_the_package_files() -> None:
    legacy, ecs = builtin_patterns("disabled"), builtin_patterns("v1")
    assert builtin_patterns() is legacy  # read once, default is legacy
    assert "%{IPORHOST:clientip}" in legacy["HTTPD_COMMONLOG"]
    assert "%{IPORHOST:source.address}" in ecs["HTTPD_COMMONLOG"]
    assert legacy["PATH"] == "(?:%{UNIXPATH}|%{WINPATH})"
    assert "ZEEK_HTTP" in ecs and "ZEEK_HTTP" not in legacy  # zeek is an ECS-only file
    assert len(legacy) > 300 and len(ecs) > 300
    with pytest.raises(ValueError, match=r"unsupported ECS compatibility mode \[v8\]"):
        builtin_patterns("v8")


def test_pattern_file_lines_follow_elasticsearch_rules() -> None:
    bank: dict[str, str] = {}
    parse_pattern_file("# comment\n\n   A  x  y\nB\tz\nLONELY\nA again", bank)
    assert bank == {"A": "again", "B": "z"}


# Elasticsearch's ecs-v1 files carry a few patterns its own conversion broke (``\\%{IP:source.ip}\\]`` where
# ``\\[%{IP:...}\\]`` was meant); they fail to compile there too (tests/processors/test_grok_es.py checks that).
BROKEN_ECS = {
    **dict.fromkeys(["S3_ACCESS_LOG", "EXIM_REMOTE_HOST", "EXIM_NAMED_FIELDS", "EXIM_MESSAGE_ARRIVAL", "EXIM"],
                    "unmatched close parenthesis"),
    **dict.fromkeys(["CISCOFW106023", "CISCOFW106100_2_3", "CISCOFW106100"], "premature end of char-class"),
}


@pytest.mark.parametrize(("mode", "broken"), [("disabled", {}), ("v1", BROKEN_ECS)])
def test_every_builtin_pattern_compiles(mode: str, broken: dict[str, str]) -> None:
    bank = builtin_patterns(mode)
    failed = {}
    for name in bank:
        try:
            GrokExpression(bank, "%{" + name + "}")
        except Exception as exc:
            failed[name] = str(exc)
    assert failed == broken


# --- Oniguruma → Python ----------------------------------------------------------------------------------

def test_translation_of_oniguruma_constructs() -> None:
    assert translate(r"\h{2}").regex == "[0-9a-fA-F]{2}"
    assert translate(r"[\h-]").regex == "[0-9a-fA-F-]"
    # Joni: \w \d \s are ASCII, POSIX brackets Unicode-aware (Python spells those as standalone classes)
    assert translate(r"\w+\d\S").regex == r"[a-zA-Z0-9_]+[0-9][^\t\n\v\f\r ]"
    assert translate(r"[^\s,]").regex == r"[^\t\n\v\f\r ,]"
    assert translate("[[[:alnum:]]_%]").regex == r"(?:[_%]|[^\W_])"
    assert translate(r"[^\S]").regex == r"(?:(?![^\t\n\v\f\r ])(?s:.))"
    assert translate("a(?m)b.c").regex == "a(?s:b.c)"  # Ruby's m is dot-all, scoped to the enclosing group
    assert translate("(x(?i)y)z").regex == "(?:x(?i:y))z"
    translated = translate("(?<a:b>x)(?<[c][d]>y)(?<a:b>z)")
    assert translated.regex == "(?P<g0>x)(?P<g1>y)(?P<g2>z)"
    assert translated.names == ["a:b", "[c][d]", "a:b"]
    assert translate(r"end\z").regex == r"end\Z"
    # Ruby's stacked repeats are nested repeats; lazy and possessive forms stay as they are
    assert translate("a.?*b").regex == "a(?:.?)*b"
    assert translate("a{2}+").regex == "(?:a{2})+"
    assert translate("(ab)?*").regex == "(?:(?:ab)?)*"
    assert translate(".*?x|a++|b{2}?").regex == ".*?x|a++|b{2}?"
    assert translate("x{y}").regex == r"x\{y}"  # no interval: a literal brace
    for bad in ("[[:nope:]]", r"\G", "(?<a>x", "[a&&b]"):
        with pytest.raises(ValueError):
            translate(bad)


# --- matching and fields ---------------------------------------------------------------------------------

def test_combined_apache_log_legacy_names() -> None:
    out = source_of(grok(patterns=["%{COMBINEDAPACHELOG}"]), {"message": APACHE})
    assert out["clientip"] == "83.149.9.216"
    assert out["verb"] == "GET"
    assert out["response"] == "200"
    assert out["bytes"] == "203023"
    assert out["timestamp"] == "17/May/2015:10:05:03 +0000"
    assert out["agent"] == '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"'


def test_combined_apache_log_ecs_names_nest_and_convert() -> None:
    out = source_of(grok(patterns=["%{COMBINEDAPACHELOG}"], ecs_compatibility="v1"), {"message": APACHE})
    assert out["source"] == {"address": "83.149.9.216"}
    assert out["http"] == {"request": {"method": "GET", "referrer": "http://semicomplete.com/presentations/"
                                                                    "logstash-monitorama-2013/"},
                           "version": "1.1", "response": {"status_code": 200, "body": {"bytes": 203023}}}
    assert out["url"] == {"original": "/presentations/logstash-monitorama-2013/images/kibana-search.png"}
    assert out["user_agent"] == {"original": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"}
    assert "clientip" not in out


def test_type_suffixes() -> None:
    out = source_of(grok(patterns=["%{NUMBER:i:int} %{NUMBER:l:long} %{NUMBER:f:float} %{NUMBER:d:double} "
                                   "%{WORD:b:boolean} %{WORD:s:string} %{WORD:u:unknown}"]),
                    {"message": "-42 9007199254740993 3.14159265358979 2.5 TRUE yes no"})
    assert out == {"message": out["message"], "i": -42, "l": 9007199254740993, "f": 3.1415927, "d": 2.5,
                   "b": True, "s": "yes", "u": "no"}
    err = error_of(grok(patterns=["%{NUMBER:i:int}"]), {"message": "1.5"})
    assert err["type"] == "number_format_exception"
    assert err["reason"] == 'For input string: "1.5"'
    err = error_of(grok(patterns=["%{NUMBER:i:int}"]), {"message": "99999999999"})
    assert err["type"] == "number_format_exception"


def test_bracket_names_are_kept_as_written_like_elasticsearch() -> None:
    out = source_of(grok(patterns=["%{NUMBER:[http][status]:int}"]), {"message": "404"})
    assert out["[http][status]"] == 404


def test_pattern_definitions_override_and_extend() -> None:
    out = source_of(grok(patterns=["<%{NUMBER:msg}> %{MY:other}"],
                         pattern_definitions={"NUMBER": "foo", "MY": "b%{NUMBER}r"}), {"message": "<foo> bfoor"})
    assert out["msg"] == "foo" and out["other"] == "bfoor"


def test_patterns_are_tried_in_order_and_trace_match() -> None:
    procs = grok(patterns=["%{ONE:one}", "%{TWO:two}"], pattern_definitions={"ONE": "1", "TWO": "2"},
                 trace_match=True)
    doc = run(procs, {"message": "abc2xyz"})[0]["doc"]
    assert doc["_source"] == {"message": "abc2xyz", "two": "2"}
    assert doc["_ingest"]["_grok_match_index"] == "1"
    doc = run(procs, {"message": "1 and 2"})[0]["doc"]
    assert doc["_source"]["one"] == "1" and doc["_ingest"]["_grok_match_index"] == "0"
    # one alternation, as Elasticsearch combines them: the earliest match position wins over pattern order
    doc = run(procs, {"message": "2 then 1"})[0]["doc"]
    assert doc["_source"] == {"message": "2 then 1", "two": "2"}
    single = run(grok(patterns=["%{WORD:w}"], trace_match=True), {"message": "x"})[0]["doc"]
    assert single["_ingest"]["_grok_match_index"] == "0"


def test_repeated_field_names() -> None:
    same = source_of(grok(patterns=["%{WORD:a}(?: %{WORD:a})?"]), {"message": "x y"})
    assert same["a"] == ["x", "y"]  # every group that participated, in order
    assert source_of(grok(patterns=["%{WORD:a}(?: %{WORD:a})?"]), {"message": "x"})["a"] == "x"
    different = source_of(grok(patterns=["%{WORD:a} %{INT:a}"]), {"message": "x 1"})
    assert different["a"] == ["x", "1"]  # two group names for one field: a list


def test_ignore_missing_and_errors() -> None:
    assert source_of(grok(patterns=["%{WORD:w}"], ignore_missing=True), {"other": 1}) == {"other": 1}
    assert source_of(grok(patterns=["%{WORD:w}"], ignore_missing=True), {"message": None}) == {"message": None}
    err = error_of(grok(patterns=["%{WORD:w}"]), {"other": 1})
    assert err["reason"] == "field [message] not present as part of path [message]"
    err = error_of(grok(patterns=["%{IP:ip}"]), {"message": "no address here"})
    assert err["type"] == "illegal_argument_exception"
    assert err["reason"] == "Provided Grok expressions do not match field value: [no address here]"


@pytest.mark.parametrize(("options", "message"), [
    ({"patterns": []}, "[patterns] List of patterns must not be empty"),
    ({"patterns": ["%{WORD:w}"], "ecs_compatibility": "v8"}, "[ecs_compatibility] unsupported mode 'v8'"),
    ({"patterns": ["%{NOPE:x}"]},
     "[patterns] Invalid regex pattern found in: [%{NOPE:x}]. Unable to find pattern [NOPE] in Grok's pattern "
     "dictionary"),
    ({"patterns": ["%{A}"], "pattern_definitions": {"A": "%{B}", "B": "%{A}"}},
     "[patterns] Invalid regex pattern found in: [%{A}]. circular reference detected: A->B->A"),
    ({"patterns": ["%{A}"], "pattern_definitions": {"A": "%{MISSING}"}},
     "[patterns] Invalid regex pattern found in: [%{A}]. pattern [A] is referencing a non-existent pattern "
     "[MISSING]"),
])
def test_configuration_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ParseException) as info:
        parse_pipeline("p", {"processors": grok(**options)})
    assert info.value.reason == message


def test_multiline_flag_and_anchors() -> None:
    # Ruby's (?m) lets "." cross newlines; ^ and $ are line anchors in Ruby syntax.
    out = source_of(grok(patterns=["(?m)^%{WORD:first}.*%{WORD:last}$"]), {"message": "alpha\nmiddle\nomega"})
    assert out["first"] == "alpha" and out["last"] == "omega"
    out = source_of(grok(patterns=["^%{WORD:w}$"]), {"message": "one\ntwo"})
    assert out["w"] == "one"


def test_grok_patterns_route_selects_the_set(ingest_home: Path) -> None:
    from fastapi.testclient import TestClient

    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        client = TestClient(create_app(api))
        legacy = client.get("/_ingest/processor/grok").json()["patterns"]
        ecs = client.get("/_ingest/processor/grok?ecs_compatibility=v1&s").json()["patterns"]
        assert len(legacy) == 318  # the count Elasticsearch's own REST test expects for the default set
        assert "%{IPORHOST:source.address}" in ecs["HTTPD_COMMONLOG"] and list(ecs) == sorted(ecs)
        bad = client.get("/_ingest/processor/grok?ecs_compatibility=v9")
        assert bad.status_code == 400
        assert bad.json()["error"]["reason"] == "unsupported ECS compatibility mode [v9]"
    finally:
        api.close()


def test_a_runaway_match_is_interrupted_like_the_watchdog_does() -> None:
    err = error_of(grok(patterns=["(?<x>(a|aa)+)$"]), {"message": "a" * 60 + "b"})
    assert err["type"] == "runtime_exception"
    assert err["reason"] == "grok pattern matching was interrupted after [1000] ms"
