"""date_index_name (Elasticsearch's documented example) and resolving the date-math names it writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.datemath import resolve_index_name
from ingest.processors.errors import ParseException
from tests.processors.helpers import error_of, run


def _index(procs: list[dict[str, Any]], source: dict[str, Any]) -> str:
    doc = run(procs, source)[0]
    assert "doc" in doc, doc
    index: str = doc["doc"]["_index"]
    return index


def test_docs_example() -> None:
    procs = [{"date_index_name": {"field": "date1", "index_name_prefix": "my-index-", "date_rounding": "M"}}]
    index = _index(procs, {"date1": "2016-04-25T12:02:01.789Z"})
    assert index == "<my-index-{2016-04-25||/M{yyyy-MM-dd|UTC}}>"
    assert resolve_index_name(index) == "my-index-2016-04-01"


def test_formats_timezone_and_templates() -> None:
    procs = [{"date_index_name": {"field": "d", "date_rounding": "{{unit}}", "date_formats": ["UNIX"],
                                  "timezone": "Europe/Amsterdam", "index_name_prefix": "{{app}}-",
                                  "index_name_format": "yyyy.MM.dd"}}]
    index = _index(procs, {"d": "1461585721", "unit": "w", "app": "web"})
    assert index == "<web-{2016.04.25||/w{yyyy.MM.dd|Europe/Amsterdam}}>"
    assert resolve_index_name(index) == "web-2016.04.25"  # a Monday: the week starts there


def test_errors() -> None:
    procs = [{"date_index_name": {"field": "d", "date_rounding": "d"}}]
    assert error_of(procs, {"d": "yesterday"})["reason"] == "unable to parse date [yesterday]"
    assert error_of(procs, {"x": 1})["reason"] == "field [d] not present as part of path [d]"
    with pytest.raises(ParseException, match=r"\[date_rounding\] required property is missing"):
        parse_pipeline("p", {"processors": [{"date_index_name": {"field": "d"}}]})


@pytest.mark.parametrize(("name", "resolved"), [
    ("<logstash-{now/d}>", "logstash-2024.03.22"),
    ("<logstash-{now/M{yyyy.MM}}>", "logstash-2024.03"),
    ("<logstash-{now/d-1d}>", "logstash-2024.03.21"),
    ("<logs-{now/y{yyyy}}-x>", "logs-2024-x"),
    ("<{now/h{yyyy.MM.dd.HH|+01:00}}>", "2024.03.22.06"),
    ("plain-index", "plain-index"),
])
def test_date_math_index_names(name: str, resolved: str) -> None:
    assert resolve_index_name(name, datetime(2024, 3, 22, 5, 30, tzinfo=UTC)) == resolved


@pytest.mark.parametrize(("fmt", "value", "rounding", "expected"), [
    # DateIndexNameProcessorTests
    ("yyyy-MM-dd'T'HH:mm:ss.SSSXX", "2016-04-25T12:24:20.101Z", "y", "<events-{20160425||/y{yyyyMMdd|UTC}}>"),
    ("TAI64N", "4000000050d506482dbdf024", "m", "<events-{20121222||/m{yyyyMMdd|UTC}}>"),
    ("UNIX_MS", "1000500", "m", "<events-{19700101||/m{yyyyMMdd|UTC}}>"),
    ("UNIX_MS", 1000500, "m", "<events-{19700101||/m{yyyyMMdd|UTC}}>"),
    ("UNIX", "1000.5", "m", "<events-{19700101||/m{yyyyMMdd|UTC}}>"),
])
def test_elasticsearch_cases(fmt: str, value: Any, rounding: str, expected: str) -> None:
    procs = [{"date_index_name": {"field": "_field", "date_formats": [fmt], "index_name_prefix": "events-",
                                  "date_rounding": rounding, "index_name_format": "yyyyMMdd"}}]
    assert _index(procs, {"_field": value}) == expected
