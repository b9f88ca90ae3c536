"""user_agent against Elasticsearch's documented example and its UserAgentProcessorTests cases."""

from __future__ import annotations

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.errors import ParseException
from tests.processors.helpers import error_of, source_of

CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_5) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/51.0.2704.103 Safari/537.36")


def test_docs_example() -> None:
    out = source_of([{"user_agent": {"field": "agent"}}], {"agent": CHROME})["user_agent"]
    assert out == {"name": "Chrome", "original": CHROME, "version": "51.0.2704.103",
                   "os": {"name": "Mac OS X", "version": "10.10.5", "full": "Mac OS X 10.10.5"},
                   "device": {"name": "Mac"}}


def test_mobile_and_unknown_agents() -> None:
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_2 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) "
              "Version/9.0 Mobile/13F69 Safari/601.1")
    out = source_of([{"user_agent": {"field": "a", "target_field": "ua"}}], {"a": iphone})["ua"]
    assert (out["name"], out["version"], out["os"]["full"], out["device"]["name"]) == \
        ("Mobile Safari", "9.0", "iOS 9.3.2", "iPhone")
    unknown = source_of([{"user_agent": {"field": "a"}}], {"a": "Something I made up v42.0.1"})["user_agent"]
    assert unknown == {"name": "Other", "device": {"name": "Other"}, "original": "Something I made up v42.0.1"}


def test_properties_subset() -> None:
    out = source_of([{"user_agent": {"field": "a", "properties": ["name", "os"]}}], {"a": CHROME})["user_agent"]
    assert out == {"name": "Chrome", "os": {"name": "Mac OS X", "version": "10.10.5", "full": "Mac OS X 10.10.5"}}


def test_errors() -> None:
    assert error_of([{"user_agent": {"field": "a"}}], {"a": None})["reason"] == \
        "field [a] is null, cannot parse user-agent."
    assert error_of([{"user_agent": {"field": "a"}}], {})["reason"] == "field [a] not present as part of path [a]"
    assert source_of([{"user_agent": {"field": "a", "ignore_missing": True}}], {}) == {}
    with pytest.raises(ParseException, match=r"illegal property value \[bad\]. valid values are \[NAME, OS, "
                                             r"DEVICE, ORIGINAL, VERSION\]"):
        parse_pipeline("p", {"processors": [{"user_agent": {"field": "a", "properties": ["bad"]}}]})
    with pytest.raises(ParseException, match=r"regex file \[custom.yml\] doesn't exist"):
        parse_pipeline("p", {"processors": [{"user_agent": {"field": "a", "regex_file": "custom.yml"}}]})
    with pytest.raises(ParseException, match=r"device_type_regexes\.yml"):
        parse_pipeline("p", {"processors": [{"user_agent": {"field": "a", "extract_device_type": True}}]})


def test_yaml_rest_cases() -> None:
    # 20_useragent_processor.yml
    agent = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_2) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/33.0.1750.149 Safari/537.36")
    out = source_of([{"user_agent": {"field": "field1"}}], {"field1": agent})["user_agent"]
    assert (out["name"], out["original"], out["version"]) == ("Chrome", agent, "33.0.1750.149")
    assert out["os"] == {"name": "Mac OS X", "version": "10.9.2", "full": "Mac OS X 10.9.2"}
    only_os = source_of([{"user_agent": {"field": "field1", "target_field": "field2", "properties": ["os"]}}],
                        {"field1": agent})
    assert "user_agent" not in only_os and only_os["field2"] == {"os": out["os"]}
