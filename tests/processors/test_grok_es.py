"""Differential tests: the same grok pipelines simulated on real Elasticsearch nodes and here.

Each case runs ``POST _ingest/pipeline/_simulate`` on Elasticsearch 8.19.7 and 9.1.0 (the session's nodes) and
``PipelineService.simulate`` here, and asserts the same ``_source`` and ``_ingest`` (less the timestamp), or the
same error type and reason. The nodes' ``grok`` processor is tests/clusters/grok_module.py: the integration-test
distribution lacks ingest-common, so a test-only module wires the options to Elasticsearch's own grok library
(pattern banks, Joni matching, typed captures), IngestDocument and _simulate, all inside the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ingest.models.errors import ElasticsearchError
from ingest.processors import PipelineService
from tests.clusters import grok_module

pytestmark = pytest.mark.cluster

APACHE = ('83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/'
          'kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" '
          '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"')
COMMON = '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326'
SYSLOG = "Mar  7 14:21:19 myhost sshd[1234]: Accepted password for root from 10.0.0.1 port 22 ssh2"
ERROR24 = ("[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 12345:tid 140] [client 10.0.0.1:5050] AH00124: "
           "File does not exist: /var/www/favicon.ico")
ERROR20 = "[Mon Aug 18 12:34:56 2003] [error] [client 1.2.3.4] Directory index forbidden by rule: /home/test/"
JAVA = "\tat org.elasticsearch.ingest.Pipeline.execute(Pipeline.java:123)"


SHOREWALL = ("May 28 17:23:25 myHost kernel: [3124658.791874] Shorewall:FORWARD:REJECT:IN=eth2 OUT=eth2 "
             "SRC=1.2.3.4 DST=192.168.0.10 LEN=141 TOS=0x00 PREC=0x00 TTL=63 ID=55251 PROTO=UDP SPT=5353 DPT=5353 "
             "LEN=121")
# More of the library, one sample line each (both sets; a line that does not match must fail alike).
LIBRARY = [
    ("RAILS3HEAD", 'Started GET "/users/1" for 127.0.0.1 at 2013-05-10 13:02:19 +0200'),
    ("SYSLOG5424LINE", '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 '
                       '[exampleSDID@32473 iut="3"] An application event log entry'),
    ("REDISLOG", "[4018] 14 Nov 07:01:22.119 * Background saving terminated with success"),
    ("MONGO3_LOG", "2020-08-13T16:11:26.592+0000 I  NETWORK  [conn1] end connection 127.0.0.1:41696 "
                   "(0 connections now open)"),
    ("ELB_ACCESS_LOG", '2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 '
                       '0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1"'),
    ("SQUID3", "1525344856.899  16867 10.170.72.111 TCP_TUNNEL/200 6256 CONNECT logs.eu-west-1.amazonaws.com:443 - "
               "HIER_DIRECT/35.168.172.185 -"),
    ("NAGIOSLOGLINE", "[1427925689] CURRENT SERVICE STATE: host;service;OK;HARD;1;PING OK"),
    ("CISCOFW106001", "Inbound TCP connection denied from 10.1.2.3/1234 to 192.168.1.2/80 flags SYN  on interface "
                      "outside"),
    ("EXIM", "2014-10-10 19:28:20 1XcdBv-000447-8O <= user@example.com H=mail.example.com [192.168.1.1] P=esmtp "
             "S=1234 id=abc@example.com"),
    ("S3_ACCESS_LOG", "79a5 mybucket [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a5 3E57427F3EXAMPLE REST.GET.VERSIONING "
                      '- "GET /mybucket?versioning HTTP/1.1" 200 - 113 - 7 - "-" "S3Console/0.4" -'),
    ("MAVEN_VERSION", "1.2.3-SNAPSHOT"),
]


@dataclass
class Case:
    id: str
    patterns: list[str]
    message: Any
    ecs: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    *(Case(f"{name}-{ecs or 'default'}", [f"%{{{name}}}"], line, ecs)
      for name, line in [("COMBINEDAPACHELOG", APACHE), ("COMMONAPACHELOG", COMMON), ("SYSLOGLINE", SYSLOG),
                         ("HTTPD_ERRORLOG", ERROR24), ("HTTPD_ERRORLOG", ERROR20), ("JAVASTACKTRACEPART", JAVA)]
      for ecs in (None, "v1")),
    Case("syslog-no-pid", ["%{SYSLOGLINE}"], "Nov 26 03:22:39 web01 kernel: eth0: link up", "v1"),
    Case("ipv4", ["%{IP:ip}"], "client 192.168.0.12 connected"),
    Case("ipv6", ["%{IP:ip}"], "from 2001:db8::ff00:42:8329 ok"),
    Case("iporhost", ["%{IPORHOST:host}:%{POSINT:port:int}"], "db-1.example.org:5432"),
    Case("uuid", ["%{UUID:id}"], "request 123e4567-e89b-12d3-a456-426614174000 done"),
    Case("timestamp", ["%{TIMESTAMP_ISO8601:ts} %{LOGLEVEL:level} %{GREEDYDATA:msg}"],
         "2024-05-01T12:34:56.789+02:00 WARN disk almost full"),
    Case("conversions", ["%{NUMBER:duration:float} %{INT:status:int} %{NUMBER:bytes:long} %{NUMBER:ratio:double} "
                         "%{WORD:ok:boolean}"], "3.14159265358979 404 9007199254740993 0.1 TRUE"),
    Case("int-not-a-number", ["%{NUMBER:status:int}"], "1.5"),
    Case("definitions", ["%{MY_LEVEL:level} %{GREEDYDATA:msg}"], "WARN all good",
         options={"pattern_definitions": {"MY_LEVEL": "INFO|WARN|ERROR"}}),
    Case("definition-overrides", ["<%{NUMBER:msg}> %{MINE:other}"], "<foo> bfoor",
         options={"pattern_definitions": {"NUMBER": "foo", "MINE": "b%{NUMBER}r"}}),
    Case("no-match", ["%{IP:ip}"], "no address here"),
    Case("trace-match", ["%{ONE:one}", "%{TWO:two}"], "abc2xyz",
         options={"pattern_definitions": {"ONE": "1", "TWO": "2"}, "trace_match": True}),
    Case("earliest-alternative-wins", ["%{ONE:one}", "%{TWO:two}"], "2 then 1",
         options={"pattern_definitions": {"ONE": "1", "TWO": "2"}, "trace_match": True}),
    Case("ignore-missing", ["%{WORD:w}"], None, options={"ignore_missing": True}),
    Case("missing", ["%{WORD:w}"], None),
    Case("repeated-name", ["%{WORD:a}(?: %{WORD:a})?"], "x y"),
    Case("two-group-names-one-field", ["%{WORD:a} %{INT:a}"], "x 1"),
    Case("bracket-field-name", ["%{NUMBER:[http][status]:int}"], "404"),
    Case("unicode-word", ["%{WORD:first} %{GREEDYDATA:rest}"], "héllo wörld"),
    Case("unicode-w", ["(?<w>\\w+)"], "héllo"),
    Case("unicode-d", ["(?<n>\\d+)"], "x\u0663\u06645"),
    Case("unicode-s", ["(?<a>\\S+)\\s(?<b>\\S+)"], "a\u00a0b c"),
    Case("unicode-posix", ["(?<w>[[:alpha:]]+)"], "héllo"),
    Case("unicode-b", ["(?<w>\\b\\w+)"], "éa b"),
    Case("unicode-case", ["(?i)(?<w>ÉTÉ)"], "été"),
    Case("dotall-inline-flag", ["(?m)^%{WORD:first}.*%{WORD:last}$"], "alpha\nmiddle\nomega"),
    Case("line-anchors", ["^%{WORD:w}$"], "one\ntwo"),
    *(Case(f"{name}-{ecs or 'default'}", [f"%{{{name}}}"], line, ecs) for name, line in LIBRARY for ecs in (None, "v1")),
    Case("stacked-repeats", ["%{SHOREWALL}"], SHOREWALL),
    Case("uri", ["%{URI:u}"], "see https://user:pw@example.com:8080/path/to?x=1#frag now"),
    Case("windows-path", ["%{PATH:p}"], r"C:\\Windows\\System32\\drivers"),
    Case("email-quoted-mac", ["%{EMAILADDRESS:mail} %{QUOTEDSTRING:q} %{MAC:mac}"],
         'bob.smith@example.org "say \\"hi\\"" 00:1a:2b:3c:4d:5e'),
    Case("rfc2822", ["%{DATESTAMP_RFC2822:ts}"], "Mon, 26 Nov 2026 03:22:39 +0000"),
    Case("plus-sign-int", ["%{INT:n:int}"], "+5"),
    Case("int-overflow", ["%{INT:n:int}"], "99999999999"),
    Case("long-overflow", ["%{INT:n:long}"], "99999999999999999999"),
    Case("empty-capture", ["a%{DATA:x}b"], "ab"),
    Case("optional-absent", ["%{WORD:a}(?: %{INT:b:int})?"], "word"),
    Case("not-a-string", ["%{WORD:w}"], 42),
    Case("several-patterns-no-trace", ["%{INT:n:int}", "%{WORD:w}"], "abc"),
    Case("trace-one-pattern", ["%{WORD:w}"], "abc", options={"trace_match": True}),
    Case("definition-in-ecs-mode", ["%{SYSLOGBASE} %{MINE:rest}"],
         "Mar  7 14:21:19 myhost sshd[1234]: tail", "v1", options={"pattern_definitions": {"MINE": "t.*"}}),
    Case("watchdog", ["(?<x>(a|aa)+)$"], "a" * 60 + "b"),
    Case("unknown-pattern", ["%{NOPE:x}"], "x"),
    Case("circular-definitions", ["%{A}"], "x", options={"pattern_definitions": {"A": "%{B}", "B": "%{A}"}}),
]


def _pipeline(case: Case) -> dict[str, Any]:
    grok: dict[str, Any] = {"field": "message", "patterns": case.patterns, **case.options}
    if case.ecs:
        grok["ecs_compatibility"] = case.ecs
    return {"processors": [{"grok": grok}]}


def _body(case: Case) -> dict[str, Any]:
    source = {} if case.message is None else {"message": case.message}
    return {"pipeline": _pipeline(case), "docs": [{"_index": "index", "_id": "id", "_source": source}]}


def _comparable(response: dict[str, Any]) -> dict[str, Any]:
    """What must agree: the document (less metadata that varies) or the error's type and reason."""
    if "docs" not in response:  # a configuration error for the whole request
        error = response["error"]
        return {"request_error": error["type"], "reason": error["reason"]}
    doc = response["docs"][0]
    if "error" in doc:
        return {"error": doc["error"]["type"], "reason": doc["error"]["reason"]}
    ingest = {k: v for k, v in doc["doc"].get("_ingest", {}).items() if k != "timestamp"}
    return {"_source": doc["doc"]["_source"], "_ingest": ingest}


def _ours(case: Case) -> dict[str, Any]:
    try:
        return _comparable(PipelineService(None).simulate(_body(case)))
    except ElasticsearchError as exc:
        return _comparable({"error": exc.to_dict()["error"]})


@pytest.fixture(scope="module", params=["elasticsearch_url", "elasticsearch9_url"])
def es(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(request.param)
    version = httpx.get(f"{url}/_nodes/_local", timeout=30).json()
    number = next(iter(version["nodes"].values()))["version"]
    error = grok_module.build_error(number)
    assert error is None, f"the grok module could not be built for Elasticsearch {number}:\n{error}"
    return url


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_same_result_as_elasticsearch(es: str, case: Case) -> None:
    response = httpx.post(f"{es}/_ingest/pipeline/_simulate", json=_body(case), timeout=60)
    expected = _comparable(response.json())
    assert _ours(case) == expected
