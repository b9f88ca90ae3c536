"""Elasticsearch's documented pipeline examples, with the ``_simulate`` output the docs show.

Each case is (processors, input _source, expected _source) taken from the processor reference pages
(elastic.co/docs/reference/enrich-processor/*) and the simulate API page.
"""

from __future__ import annotations

from typing import Any

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.simulate import simulate
from tests.processors.helpers import error_of, run, source_of

DISSECT_LINE = ('1.2.3.4 - - [30/Apr/1998:22:00:52 +0000] "GET /english/venues/cities/images/montpellier/18.gif '
                'HTTP/1.0" 200 3171')

CASES: list[tuple[str, list[dict[str, Any]], dict[str, Any], dict[str, Any]]] = [
    ("set", [{"set": {"field": "field2", "value": "_value"}}], {"foo": "bar"}, {"field2": "_value", "foo": "bar"}),
    ("set copy_from", [{"set": {"field": "x", "copy_from": "y"}}], {"y": {"a": 1}}, {"x": {"a": 1}, "y": {"a": 1}}),
    ("set template", [{"set": {"field": "field_c", "value": "{{{field_a}}} {{{field_b}}}"}}],
     {"field_a": "hello", "field_b": "world"}, {"field_a": "hello", "field_b": "world", "field_c": "hello world"}),
    ("set no override", [{"set": {"field": "a", "value": "new", "override": False}}], {"a": "old"}, {"a": "old"}),
    ("dissect", [{"dissect": {"field": "message", "pattern": '%{clientip} %{ident} %{auth} [%{@timestamp}] '
                                                             '"%{verb} %{request} HTTP/%{httpversion}" %{status} %{size}'}}],
     {"message": DISSECT_LINE},
     {"message": DISSECT_LINE, "request": "/english/venues/cities/images/montpellier/18.gif", "auth": "-",
      "ident": "-", "verb": "GET", "@timestamp": "30/Apr/1998:22:00:52 +0000", "size": "3171",
      "clientip": "1.2.3.4", "httpversion": "1.0", "status": "200"}),
    ("dissect append", [{"dissect": {"field": "m", "pattern": "%{+name} %{+name} %{+name} %{+name}",
                                     "append_separator": " "}}],
     {"m": "john jacob jingleheimer schmidt"}, {"m": "john jacob jingleheimer schmidt",
                                                "name": "john jacob jingleheimer schmidt"}),
    ("dissect append order", [{"dissect": {"field": "m", "pattern": "%{+name/2} %{+name/4} %{+name/3} %{+name/1}",
                                           "append_separator": ","}}],
     {"m": "john jacob jingleheimer schmidt"}, {"m": "john jacob jingleheimer schmidt",
                                                "name": "schmidt,john,jingleheimer,jacob"}),
    ("dissect skip and padding", [{"dissect": {"field": "m", "pattern": "%{a->} %{?skip} %{c}"}}],
     {"m": "x     y z"}, {"m": "x     y z", "a": "x", "c": "z"}),
    ("dissect reference keys", [{"dissect": {"field": "m", "pattern": "[%{ts}] [%{level}] %{*p1}:%{&p1} %{*p2}:%{&p2}"}}],
     {"m": "[2018-08-10T17:15:42,466] [ERR] ip:1.2.3.4 error:REFUSED"},
     {"m": "[2018-08-10T17:15:42,466] [ERR] ip:1.2.3.4 error:REFUSED", "ts": "2018-08-10T17:15:42,466",
      "level": "ERR", "ip": "1.2.3.4", "error": "REFUSED"}),
    ("grok", [{"grok": {"field": "message",
                        "patterns": ["%{IP:client} %{WORD:method} %{URIPATHPARAM:request} %{NUMBER:bytes:int} "
                                     "%{NUMBER:duration:double}"]}}],
     {"message": "55.3.244.1 GET /index.html 15824 0.043"},
     {"message": "55.3.244.1 GET /index.html 15824 0.043", "duration": 0.043, "request": "/index.html",
      "method": "GET", "bytes": 15824, "client": "55.3.244.1"}),
    ("grok custom definitions", [{"grok": {"field": "message", "patterns": ["my %{FAVORITE_DOG:dog} is colored "
                                                                            "%{RGB:color}"],
                                           "pattern_definitions": {"FAVORITE_DOG": "beagle",
                                                                   "RGB": "RED|GREEN|BLUE"}}}],
     {"message": "my beagle is colored BLUE"}, {"message": "my beagle is colored BLUE", "dog": "beagle",
                                                "color": "BLUE"}),
    ("kv", [{"kv": {"field": "message", "field_split": " ", "value_split": "="}}],
     {"message": "ip=1.2.3.4 error=REFUSED"}, {"message": "ip=1.2.3.4 error=REFUSED", "ip": "1.2.3.4",
                                              "error": "REFUSED"}),
    ("kv include_keys", [{"kv": {"field": "m", "field_split": "&", "value_split": "=", "include_keys": ["a"],
                                 "target_field": "q"}}], {"m": "a=1&b=2"}, {"m": "a=1&b=2", "q": {"a": "1"}}),
    ("split", [{"split": {"field": "my_field", "separator": "\\s+"}}], {"my_field": "127.0.0.1 192.168.1.1"},
     {"my_field": ["127.0.0.1", "192.168.1.1"]}),
    ("split preserve_trailing", [{"split": {"field": "f", "separator": ",", "preserve_trailing": True}}],
     {"f": "A,,B,,"}, {"f": ["A", "", "B", "", ""]}),
    ("split drops trailing", [{"split": {"field": "f", "separator": ","}}], {"f": "A,,B,,"}, {"f": ["A", "", "B"]}),
    ("join", [{"join": {"field": "joined_array_field", "separator": "-"}}],
     {"joined_array_field": ["a", "b", "c"]}, {"joined_array_field": "a-b-c"}),
    ("sort", [{"sort": {"field": "array_field_to_sort", "order": "desc"}}],
     {"array_field_to_sort": [3, 1, 2]}, {"array_field_to_sort": [3, 2, 1]}),
    ("dot_expander", [{"dot_expander": {"field": "foo.bar"}}], {"foo.bar": "value"}, {"foo": {"bar": "value"}}),
    ("dot_expander merge", [{"dot_expander": {"field": "foo.bar"}}], {"foo.bar": "value2", "foo": {"bar": "value1"}},
     {"foo": {"bar": ["value1", "value2"]}}),
    ("dot_expander all", [{"dot_expander": {"field": "*"}}], {"a.b": 1, "c.d.e": 2},
     {"a": {"b": 1}, "c": {"d": {"e": 2}}}),
    ("json", [{"json": {"field": "string_source", "target_field": "json_target"}}],
     {"string_source": '{"foo": 2000}'}, {"string_source": '{"foo": 2000}', "json_target": {"foo": 2000}}),
    ("json add_to_root", [{"json": {"field": "source_and_target", "add_to_root": True}}],
     {"source_and_target": '{"foo": 2000}'}, {"source_and_target": '{"foo": 2000}', "foo": 2000}),
    ("csv", [{"csv": {"field": "my_field", "target_fields": ["field1", "field2"]}}],
     {"my_field": 'a,"b,c"'}, {"my_field": 'a,"b,c"', "field1": "a", "field2": "b,c"}),
    ("csv empty_value", [{"csv": {"field": "f", "target_fields": ["a", "b", "c"], "empty_value": "x"}}],
     {"f": "1,,3"}, {"f": "1,,3", "a": "1", "b": "x", "c": "3"}),
    ("convert integer", [{"convert": {"field": "id", "type": "integer"}}], {"id": "1"}, {"id": 1}),
    ("convert auto", [{"convert": {"field": "v", "type": "auto"}}], {"v": "true"}, {"v": True}),
    ("convert list", [{"convert": {"field": "v", "type": "double", "target_field": "d"}}], {"v": ["1.5", "2"]},
     {"v": ["1.5", "2"], "d": [1.5, 2.0]}),
    ("convert string", [{"convert": {"field": "v", "type": "string"}}], {"v": 12.0}, {"v": "12.0"}),
    ("fingerprint", [{"fingerprint": {"fields": ["user"]}}],
     {"user": {"last_name": "Smith", "first_name": "John", "date_of_birth": "1980-01-15", "is_active": True}},
     {"user": {"last_name": "Smith", "first_name": "John", "date_of_birth": "1980-01-15", "is_active": True},
      "fingerprint": "WbSUPW4zY1PBPehh2AA/sSxiRjw="}),
    ("bytes", [{"bytes": {"field": "file.size"}}], {"file": {"size": "1kb"}}, {"file": {"size": 1024}}),
    ("urldecode", [{"urldecode": {"field": "my_url_to_decode"}}],
     {"my_url_to_decode": "https%3A%2F%2Felastic.co%2F"}, {"my_url_to_decode": "https://elastic.co/"}),
    ("html_strip", [{"html_strip": {"field": "foo"}}], {"foo": "<p>this has html</p>"},
     {"foo": "\nthis has html\n"}),
    ("lowercase", [{"lowercase": {"field": "foo"}}], {"foo": "AbC"}, {"foo": "abc"}),
    ("uppercase list", [{"uppercase": {"field": "foo"}}], {"foo": ["a", "b"]}, {"foo": ["A", "B"]}),
    ("trim", [{"trim": {"field": "foo"}}], {"foo": "  bar  "}, {"foo": "bar"}),
    ("gsub", [{"gsub": {"field": "field1", "pattern": "\\.", "replacement": "-"}}], {"field1": "127.0.0.1"},
     {"field1": "127-0-0-1"}),
    ("gsub groups", [{"gsub": {"field": "f", "pattern": "(\\w+)@(\\w+)", "replacement": "$2 at $1"}}],
     {"f": "me@home"}, {"f": "home at me"}),
    ("append", [{"append": {"field": "tags", "value": ["production", "{{{app}}}", "{{{owner}}}"]}}],
     {"tags": "a", "app": "x", "owner": "y"}, {"tags": ["a", "production", "x", "y"], "app": "x", "owner": "y"}),
    ("append no duplicates", [{"append": {"field": "t", "value": ["a", "b"], "allow_duplicates": False}}],
     {"t": ["a"]}, {"t": ["a", "b"]}),
    ("remove", [{"remove": {"field": ["user_agent", "url"]}}], {"user_agent": "x", "url": "y", "k": 1}, {"k": 1}),
    ("remove keep", [{"remove": {"keep": ["url"]}}], {"user_agent": "x", "url": "y"}, {"url": "y"}),
    ("rename", [{"rename": {"field": "provider", "target_field": "cloud.provider"}}], {"provider": "aws"},
     {"cloud": {"provider": "aws"}}),
    ("foreach", [{"foreach": {"field": "values", "processor": {"uppercase": {"field": "_ingest._value"}}}}],
     {"values": ["foo", "bar", "baz"]}, {"values": ["FOO", "BAR", "BAZ"]}),
    ("foreach objects", [{"foreach": {"field": "persons", "processor": {"remove": {"field": "_ingest._value.id"}}}}],
     {"persons": [{"id": "1", "name": "John"}, {"id": "2", "name": "Jane"}]},
     {"persons": [{"name": "John"}, {"name": "Jane"}]}),
    ("foreach map", [{"foreach": {"field": "products", "processor": {"uppercase": {"field": "_ingest._key"}}}}],
     {"products": {"widgets": 1, "gadgets": 2}}, {"products": {"WIDGETS": 1, "GADGETS": 2}}),
    ("date", [{"date": {"field": "initial_date", "target_field": "timestamp", "formats": ["dd/MM/yyyy HH:mm:ss"],
                        "timezone": "Europe/Amsterdam"}}],
     {"initial_date": "12/06/2016 12:00:00"},
     {"initial_date": "12/06/2016 12:00:00", "timestamp": "2016-06-12T12:00:00.000+02:00"}),
    ("date ISO8601", [{"date": {"field": "d", "formats": ["ISO8601"]}}], {"d": "2016-06-12T00:00:00.000Z"},
     {"d": "2016-06-12T00:00:00.000Z", "@timestamp": "2016-06-12T00:00:00.000Z"}),
    ("date UNIX", [{"date": {"field": "d", "formats": ["UNIX"]}}], {"d": 1465689600},
     {"d": 1465689600, "@timestamp": "2016-06-12T00:00:00.000Z"}),
    ("date output_format", [{"date": {"field": "d", "formats": ["UNIX_MS"], "output_format": "yyyy-MM-dd"}}],
     {"d": "1465689600123"}, {"d": "1465689600123", "@timestamp": "2016-06-12"}),
    ("date epoch_millis and EEE pattern", [
        {"date": {"field": "a", "formats": ["epoch_millis"], "target_field": "ta"}},
        {"date": {"field": "b", "formats": ["EEE, dd MMM yyyy HH:mm:ss Z"], "target_field": "tb"}}],
     {"a": 1465689600000, "b": "Sun, 12 Jun 2016 10:00:00 +0200"},
     {"a": 1465689600000, "b": "Sun, 12 Jun 2016 10:00:00 +0200", "ta": "2016-06-12T00:00:00.000Z",
      "tb": "2016-06-12T08:00:00.000Z"}),
    ("script", [{"script": {"source": "ctx['tags'].add(params['tag'])", "params": {"tag": "x"}}}],
     {"tags": ["a"]}, {"tags": ["a", "x"]}),
    ("script ctx", [{"script": {"source": "ctx.env = ctx.url.splitOnToken('/')[2]"}}],
     {"url": "https://prod.example.com/x"}, {"url": "https://prod.example.com/x", "env": "prod.example.com"}),
    ("if", [{"set": {"field": "p", "value": "yes", "if": "ctx.network?.name == 'Guest'"}}],
     {"network": {"name": "Guest"}}, {"network": {"name": "Guest"}, "p": "yes"}),
    ("if false", [{"set": {"field": "p", "value": "yes", "if": "ctx.network?.name == 'Guest'"}}], {"x": 1}, {"x": 1}),
    ("ignore_missing", [{"rename": {"field": "nope", "target_field": "x", "ignore_missing": True}}], {"a": 1},
     {"a": 1}),
    ("on_failure continues", [{"rename": {"field": "foo", "target_field": "bar",
                                          "on_failure": [{"set": {"field": "error.message",
                                                                  "value": "field \"foo\" does not exist, cannot "
                                                                           "rename to \"bar\""}}]}},
                              {"set": {"field": "after", "value": True}}],
     {"x": 1}, {"x": 1, "error": {"message": 'field "foo" does not exist, cannot rename to "bar"'}, "after": True}),
    ("terminate", [{"set": {"field": "a", "value": 1}}, {"terminate": {"if": "ctx.error != null"}},
                   {"set": {"field": "b", "value": 2}}], {"error": "x"}, {"error": "x", "a": 1}),
    ("uri_parts", [{"uri_parts": {"field": "input_field", "target_field": "url", "keep_original": True,
                                  "remove_if_successful": False}}],
     {"input_field": "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment"},
     {"input_field": "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment",
      "url": {"path": "/foo.gif", "fragment": "fragment", "extension": "gif", "password": "mypassword",
              "original": "http://myusername:mypassword@www.example.com:80/foo.gif?key1=val1&key2=val2#fragment",
              "scheme": "http", "port": 80, "user_info": "myusername:mypassword", "domain": "www.example.com",
              "query": "key1=val1&key2=val2", "username": "myusername"}}),
    ("text_chunking delimiter", [{"text_chunking": {"field_map": {"body": "chunks"},
                                                    "algorithm": {"delimiter": {"delimiter": "."}}}}],
     {"body": "This is a sentence. Another one."},
     {"body": "This is a sentence. Another one.", "chunks": ["This is a sentence.", " Another one."]}),
]


@pytest.mark.parametrize(("name", "processors", "source", "expected"), CASES, ids=[c[0] for c in CASES])
def test_documented_example(name: str, processors: list[dict[str, Any]], source: dict[str, Any],
                            expected: dict[str, Any]) -> None:
    assert source_of(processors, source) == expected


def test_simulate_response_shape_matches_the_docs() -> None:
    body = {"pipeline": {"description": "_description",
                         "processors": [{"set": {"field": "field2", "value": "_value"}}]},
            "docs": [{"_index": "index", "_id": "id", "_source": {"foo": "bar"}},
                     {"_index": "index", "_id": "id", "_source": {"foo": "rab"}}]}
    out = simulate(parse_pipeline("_simulate_pipeline", body["pipeline"]), body, False)
    assert len(out["docs"]) == 2
    doc = out["docs"][1]["doc"]
    assert set(doc) == {"_index", "_id", "_version", "_source", "_ingest"}
    assert doc["_index"] == "index" and doc["_id"] == "id" and doc["_version"] == "-3"
    assert doc["_source"] == {"field2": "_value", "foo": "rab"}
    assert set(doc["_ingest"]) == {"timestamp"}
    assert doc["_ingest"]["timestamp"].endswith("Z")


def test_verbose_simulate_matches_the_docs() -> None:
    # The simulate API page's verbose example: two tagged set processors.
    docs = run([{"set": {"field": "field2", "value": "_value2", "tag": "processor[set]-0"}},
                {"set": {"field": "field3", "value": "_value3", "tag": "processor[set]-1"}}],
               [{"foo": "bar"}, {"foo": "rab"}], verbose=True)
    results = docs[0]["processor_results"]
    assert [r["tag"] for r in results] == ["processor[set]-0", "processor[set]-1"]
    assert [r["status"] for r in results] == ["success", "success"]
    assert results[0]["processor_type"] == "set"
    assert results[0]["doc"]["_source"] == {"field2": "_value2", "foo": "bar"}
    assert results[1]["doc"]["_source"] == {"field3": "_value3", "field2": "_value2", "foo": "bar"}
    assert results[1]["doc"]["_ingest"]["pipeline"] == "_simulate_pipeline"
    assert docs[1]["processor_results"][1]["doc"]["_source"]["foo"] == "rab"


def test_documented_missing_field_error() -> None:
    err = error_of([{"remove": {"field": "rating"}}], {"a": 1})
    assert err["type"] == "illegal_argument_exception"
    assert err["reason"] == "field [rating] not present as part of path [rating]"
    assert err["root_cause"][0]["reason"] == err["reason"]


def test_fail_processor_documented_message() -> None:
    err = error_of([{"fail": {"if": "ctx.tags.contains('production') != true",
                              "message": "The production tag is not present, found tags: {{{tags}}}"}}],
                   {"tags": ["dev"]})
    assert err["type"] == "fail_processor_exception"
    assert err["reason"] == "The production tag is not present, found tags: [dev]"


def test_grok_no_match_message() -> None:
    err = error_of([{"grok": {"field": "m", "patterns": ["%{IP:ip}"]}}], {"m": "nothing here"})
    assert err["reason"] == "Provided Grok expressions do not match field value: [nothing here]"


def test_pipeline_level_on_failure_reroutes_index() -> None:
    docs = run([{"rename": {"field": "foo", "target_field": "bar"}}, {"set": {"field": "never", "value": 1}}],
               {"x": 1}, on_failure=[{"set": {"field": "_index", "value": "failed-{{{ _index }}}"}}])
    assert docs[0]["doc"]["_index"] == "failed-index"
    assert docs[0]["doc"]["_source"] == {"x": 1}


def test_grok_trace_match_documented_example() -> None:
    doc = run([{"grok": {"field": "message", "patterns": ["%{FAVORITE_DOG:pet}", "%{FAVORITE_CAT:pet}"],
                         "pattern_definitions": {"FAVORITE_DOG": "beagle", "FAVORITE_CAT": "burmese"},
                         "trace_match": True}}], {"message": "I love burmese cats!"})[0]["doc"]
    assert doc["_source"] == {"message": "I love burmese cats!", "pet": "burmese"}
    assert doc["_ingest"]["_grok_match_index"] == "1"


def test_convert_errors_match_elasticsearch() -> None:
    assert error_of([{"convert": {"field": "f", "type": "boolean"}}], {"f": "yes"})["reason"] == \
        "[yes] is not a boolean value, cannot convert to boolean"
    assert error_of([{"convert": {"field": "f", "type": "integer"}}], {"f": "1.5"})["reason"] == \
        "unable to convert [1.5] to integer"
    assert error_of([{"lowercase": {"field": "f"}}], {"f": 3})["reason"] == \
        "field [f] of type [java.lang.Integer] cannot be cast to [java.lang.String]"
    assert error_of([{"rename": {"field": "a", "target_field": "b"}}], {"a": 1, "b": 2})["reason"] == \
        "field [b] already exists"


def test_reroute_documented_behaviour() -> None:
    pipeline = parse_pipeline("p", {"processors": [
        {"reroute": {"dataset": ["{{service.name}}", "fallback"], "namespace": "{{env}}"}},
        {"set": {"field": "never", "value": 1}}]})
    doc = simulate(pipeline, {"docs": [{"_index": "logs-generic-default", "_source": {
        "service": {"name": "Nginx Access"}, "env": "prod-eu"}}]}, False)["docs"][0]["doc"]
    assert doc["_index"] == "logs-nginx_access-prod_eu"
    assert doc["_source"]["data_stream"] == {"type": "logs", "dataset": "nginx_access", "namespace": "prod_eu"}
    assert "never" not in doc["_source"]
    assert run([{"reroute": {"dataset": "x"}}], {})[0]["error"]["reason"].startswith("invalid data stream name")
    body = {"docs": [{"_index": "logs-generic-default", "_source": {}}]}
    out = simulate(parse_pipeline("p", {"processors": [{"reroute": {"dataset": "x"}}]}), body, False)
    assert out["docs"][0]["doc"]["_index"] == "logs-x-default"
    out = simulate(parse_pipeline("p", {"processors": [{"reroute": {"destination": "other-{{k}}"}}]}),
                   {"docs": [{"_source": {"k": "v"}}]}, False)
    assert out["docs"][0]["doc"]["_index"] == "other-v"
