"""community_id, network_direction and registered_domain against Elasticsearch's documented examples and tests."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.processors.network import community_id
from tests.processors.helpers import error_of, source_of

FLOW = {"source": {"ip": "128.232.110.120", "port": 34855}, "destination": {"ip": "66.35.250.204", "port": 80},
        "network": {"transport": "tcp"}}


def test_community_id_docs_example() -> None:
    doc = {"source": {"ip": "123.124.125.126", "port": 12345}, "destination": {"ip": "55.56.57.58", "port": 80},
           "network": {"transport": "TCP"}}
    assert source_of([{"community_id": {}}], doc)["network"]["community_id"] == "1:9qr9Z1LViXcNwtLVOHZ3CL8MlyM="


def test_community_id_spec_vector_and_seed() -> None:
    assert source_of([{"community_id": {}}], FLOW)["network"]["community_id"] == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
    seeded = source_of([{"community_id": {"seed": 123, "target_field": "cid"}}], FLOW)
    assert seeded["cid"] == "1:hTSGlFQnR58UCk+NfKRZzA32dPg="
    # iana_number wins over transport
    by_number = source_of([{"community_id": {}}], {**FLOW, "network": {"iana_number": 6, "transport": "udp"}})
    assert by_number["network"]["community_id"] == "1:LQU9qZlK+B5F3KDmev6m5PMibrg="


def test_community_id_errors_and_missing() -> None:
    assert source_of([{"community_id": {}}], {"x": 1}) == {"x": 1}  # ignore_missing defaults to true
    assert error_of([{"community_id": {"ignore_missing": False}}], {"source": {"ip": "1.2.3.4"},
                                                                    "destination": {"ip": "1.2.3.5"}}
                    )["reason"] == "field [network] not present as part of path [network.transport]"
    bad_port = {**FLOW, "source": {"ip": "128.232.110.120", "port": 65536}}
    assert error_of([{"community_id": {}}], bad_port)["reason"] == "invalid source port [65536]"
    bad_ip = {**FLOW, "source": {"ip": "300.1.1.1", "port": 1}}
    assert error_of([{"community_id": {}}], bad_ip)["reason"] == "'300.1.1.1' is not an IP string literal."
    bad_proto = {**FLOW, "network": {"transport": "nope"}}
    assert error_of([{"community_id": {}}], bad_proto)["reason"] == \
        "could not convert string [nope] to transport protocol"


@given(st.data(), st.integers(0, 65535), st.integers(0, 65535), st.sampled_from([6, 17, 132]))
def test_community_id_is_direction_free(data: st.DataObject, sport: int, dport: int, proto: int) -> None:
    a, b = data.draw(st.sampled_from([
        st.tuples(st.ip_addresses(v=4), st.ip_addresses(v=4)),
        st.tuples(st.ip_addresses(v=6), st.ip_addresses(v=6))]).flatmap(lambda s: s))
    assert isinstance(a, (ipaddress.IPv4Address, ipaddress.IPv6Address))
    assert isinstance(b, (ipaddress.IPv4Address, ipaddress.IPv6Address))
    assert community_id(a, b, proto, sport, dport, 0) == community_id(b, a, proto, dport, sport, 0)


@pytest.mark.parametrize(("src", "dst", "networks", "direction"), [
    ("128.232.110.120", "192.168.1.1", ["private"], "inbound"),
    ("192.168.1.1", "128.232.110.120", ["private"], "outbound"),
    ("10.0.0.1", "192.168.1.1", ["private"], "internal"),
    ("8.8.8.8", "1.1.1.1", ["private"], "external"),
    ("10.1.2.3", "8.8.8.8", ["10.0.0.0/8"], "outbound"),
    ("127.0.0.1", "::1", ["loopback"], "internal"),
    ("fe80::1", "8.8.8.8", ["link_local_unicast"], "outbound"),
    ("8.8.8.8", "10.0.0.1", ["public"], "outbound"),
])
def test_network_direction(src: str, dst: str, networks: list[str], direction: str) -> None:
    doc = {"source": {"ip": src}, "destination": {"ip": dst}}
    out = source_of([{"network_direction": {"internal_networks": networks}}], doc)
    assert out["network"]["direction"] == direction


def test_network_direction_from_field_and_options() -> None:
    doc = {"s": "10.0.0.1", "d": "8.8.8.8", "nets": ["10.0.0.0/8"]}
    out = source_of([{"network_direction": {"source_ip": "s", "destination_ip": "d", "target_field": "dir",
                                            "internal_networks_field": "nets"}}], doc)
    assert out["dir"] == "outbound"
    from ingest.processors import parse_pipeline
    from ingest.processors.errors import ParseException

    with pytest.raises(ParseException, match=r"\[internal_networks\] or \[internal_networks_field\] must be"):
        parse_pipeline("p", {"processors": [{"network_direction": {}}]})
    assert error_of([{"network_direction": {"internal_networks": ["private"], "ignore_missing": False}}],
                    {"source": {"ip": "1.2.3.4"}})["reason"] == \
        "field [destination] not present as part of path [destination.ip]"


@pytest.mark.parametrize(("fqdn", "expected"), [
    ("www.example.ac.uk", {"domain": "www.example.ac.uk", "registered_domain": "example.ac.uk",
                           "top_level_domain": "ac.uk", "subdomain": "www"}),
    ("example.com", {"domain": "example.com", "registered_domain": "example.com", "top_level_domain": "com"}),
    ("a.b.example.co.jp", {"domain": "a.b.example.co.jp", "registered_domain": "example.co.jp",
                           "top_level_domain": "co.jp", "subdomain": "a.b"}),
    ("co.uk", {"domain": "co.uk", "top_level_domain": "co.uk"}),
    # RegisteredDomainProcessorTests: private suffixes count
    ("www.google.com", {"domain": "www.google.com", "registered_domain": "google.com", "top_level_domain": "com",
                        "subdomain": "www"}),
    ("1.www.global.ssl.fastly.net", {"domain": "1.www.global.ssl.fastly.net",
                                     "registered_domain": "www.global.ssl.fastly.net",
                                     "top_level_domain": "global.ssl.fastly.net", "subdomain": "1"}),
])
def test_registered_domain(fqdn: str, expected: dict[str, str]) -> None:
    assert source_of([{"registered_domain": {"field": "fqdn", "target_field": "url"}}], {"fqdn": fqdn})["url"] == \
        expected


@pytest.mark.parametrize("fqdn", ["", ".", "$", "foo.bar.baz"])
def test_registered_domain_without_a_suffix(fqdn: str) -> None:
    assert source_of([{"registered_domain": {"field": "f"}}], {"f": fqdn}) == {"f": fqdn}
    assert error_of([{"registered_domain": {"field": "f", "ignore_missing": False}}], {"f": fqdn})["reason"] == \
        "unable to set domain information for document"


def test_registered_domain_unknown_suffix() -> None:
    assert source_of([{"registered_domain": {"field": "f"}}], {"f": "host.nosuchtld"}) == {"f": "host.nosuchtld"}
    assert error_of([{"registered_domain": {"field": "f", "ignore_missing": False}}],
                    {"f": "host.nosuchtld"})["reason"] == "unable to set domain information for document"
    # no target_field: the fields land at the root, as in Elasticsearch
    assert source_of([{"registered_domain": {"field": "f"}}], {"f": "example.com"})["registered_domain"] == \
        "example.com"


def _event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"source": {"ip": "128.232.110.120", "port": 34855},
                             "destination": {"ip": "66.35.250.204", "port": 80}, "network": {"transport": "TCP"}}
    for path, value in changes.items():
        parent, _, key = path.partition("__")
        if value is _DROP:
            event[parent].pop(key, None)
        else:
            event.setdefault(parent, {})[key] = value
    return event


_DROP = object()
NO_PORTS = {"source__port": _DROP, "destination__port": _DROP}


@pytest.mark.parametrize(("changes", "expected"), [
    # CommunityIdProcessorTests (which mirror the Beats processor's tests)
    ({}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    ({"network__transport": "icmp", "icmp__type": 3, "icmp__code": 3}, "1:KF3iG9XD24nhlSy4r1TcYIr5mfE="),
    ({"network__transport": "icmp", "icmp__type": "3", "icmp__code": "3"}, "1:KF3iG9XD24nhlSy4r1TcYIr5mfE="),
    ({"network__transport": "icmp"}, "1:PAE85ZfR4SbNXl5URZwWYyDehwU="),
    ({"network__transport": "igmp", **NO_PORTS}, "1:D3t8Q1aFA6Ev0A/AO4i9PnU3AeI="),
    ({"network__transport": "2", **NO_PORTS}, "1:D3t8Q1aFA6Ev0A/AO4i9PnU3AeI="),
    ({"network__transport": 2, **NO_PORTS}, "1:D3t8Q1aFA6Ev0A/AO4i9PnU3AeI="),
    ({"network__transport": _DROP, "network__iana_number": 6}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    ({"network__transport": _DROP, "network__iana_number": "6"}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    ({"network__transport": _DROP, "network__iana_number": "4", "source__ip": "192.168.1.2",
      "destination__ip": "10.1.2.3", **NO_PORTS}, "1:KXQzmk3bdsvD6UXj7dvQ4bM6Zvw="),
    ({"source__ip": "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "destination__ip": "2001:0:9d38:6ab8:1c48:3a1c:a95a:b1c2"},
     "1:YC1+javPJ2LpK5xVyw1udfT83Qs="),
    ({"network__transport": "icmp", "icmp__type": 10, "icmp__code": 3}, "1:L8wnzpmRHIESLqLBy+zTqW3Pmqs="),
    ({"source__port": "34855", "destination__port": "80"}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
    ({"source__port": 34855.0}, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
])
def test_community_id_elasticsearch_vectors(changes: dict[str, Any], expected: str) -> None:
    out = source_of([{"community_id": {"ignore_missing": False}}], _event(**changes))
    assert out["network"]["community_id"] == expected


@pytest.mark.parametrize(("changes", "message"), [
    ({"source__ip": 2162716280}, "field [source.ip] of type [java.lang.Long] cannot be cast to [java.lang.String]"),
    ({"source__port": 0}, "invalid source port [0]"),
    ({"destination__port": 65536}, "invalid destination port [65536]"),
    ({"destination__port": None}, "invalid destination port [null]"),
    ({"destination__ip": "308.111.1.2.3"}, "'308.111.1.2.3' is not an IP string literal."),
    ({"network__transport": "xyz"}, "could not convert string [xyz] to transport protocol"),
    ({"source__ip": _DROP}, "field [ip] not present as part of path [source.ip]"),
])
def test_community_id_elasticsearch_errors(changes: dict[str, Any], message: str) -> None:
    assert error_of([{"community_id": {"ignore_missing": False}}], _event(**changes))["reason"] == message


@pytest.mark.parametrize(("src", "dst", "networks", "expected"), [
    # NetworkDirectionProcessorTests
    ("10.0.1.1", "192.168.1.2", ["10.0.0.0/8"], "outbound"),
    ("192.168.1.2", "10.0.1.1", ["10.0.0.0/8"], "inbound"),
    ("0.0.0.0", "0.0.0.0", ["unspecified"], "internal"),
    ("::", "::", ["unspecified"], "internal"),
    ("192.168.1.1", "192.168.1.2", ["private"], "internal"),
    ("192.168.1.1", "172.16.0.1", ["private"], "internal"),
    ("192.168.1.1", "fd12:3456:789a:1::1", ["private"], "internal"),
    ("192.168.1.1", "192.168.1.2", ["public"], "external"),
    ("192.168.1.1", "fd12:3456:789a:1::1", ["public"], "external"),
])
def test_network_direction_elasticsearch_cases(src: str, dst: str, networks: list[str], expected: str) -> None:
    doc = {"source": {"ip": src}, "destination": {"ip": dst}}
    out = source_of([{"network_direction": {"internal_networks": networks, "ignore_missing": False}}], doc)
    assert out["network"]["direction"] == expected


@pytest.mark.parametrize(("src", "dst", "networks", "message"), [
    (None, "66.35.250.204", ["10.0.0.0/8"], "unable to calculate network direction from document"),
    ("192.168.1.1", None, ["10.0.0.0/8"], "unable to calculate network direction from document"),
    ("invalid", "66.35.250.204", ["10.0.0.0/8"], "'invalid' is not an IP string literal."),
    ("192.168.1.1", "192.168.1.1", ["10.0.0.0/8", "invalid"], "'invalid' is not an IP string literal."),
])
def test_network_direction_elasticsearch_errors(src: str | None, dst: str | None, networks: list[str],
                                                message: str) -> None:
    doc = {"source": {"ip": src}, "destination": {"ip": dst}}
    procs = [{"network_direction": {"internal_networks": networks, "ignore_missing": False}}]
    assert error_of(procs, doc)["reason"] == message
