"""geoip / ip_location with the bundled GeoLite2 City (2018-07) database: ingest-geoip's fields and errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingest.processors import parse_pipeline
from ingest.processors.errors import ParseException
from tests.processors.helpers import error_of, source_of


def test_default_properties_of_a_city_lookup() -> None:
    out = source_of([{"geoip": {"field": "ip"}}], {"ip": "89.160.20.128"})["geoip"]
    assert set(out) == {"continent_name", "country_name", "country_iso_code", "region_iso_code", "region_name",
                        "city_name", "location"}
    assert (out["continent_name"], out["country_name"], out["country_iso_code"]) == ("Europe", "Sweden", "SE")
    assert out["region_iso_code"].startswith("SE-")
    assert set(out["location"]) == {"lat", "lon"}


def test_chosen_properties_and_ip_location_target() -> None:
    props = ["ip", "continent_code", "country_in_european_union", "accuracy_radius"]
    out = source_of([{"ip_location": {"field": "ip", "properties": props}}], {"ip": "89.160.20.128"})
    assert out["ip_location"] == {"ip": "89.160.20.128", "continent_code": "EU", "country_in_european_union": True,
                                  "accuracy_radius": out["ip_location"]["accuracy_radius"]}


def test_address_without_a_record_adds_nothing() -> None:
    assert source_of([{"geoip": {"field": "ip"}}], {"ip": "10.0.0.1"}) == {"ip": "10.0.0.1"}


def test_lists_first_only_and_all() -> None:
    ips = ["10.0.0.1", "89.160.20.128", "2a02:cf40::"]
    first = source_of([{"geoip": {"field": "ip", "properties": ["country_iso_code"]}}], {"ip": ips})
    assert first["geoip"] == {"country_iso_code": "SE"}
    every = source_of([{"geoip": {"field": "ip", "first_only": False, "properties": ["country_iso_code"]}}],
                      {"ip": ips})
    assert every["geoip"] == [{"country_iso_code": "SE"}, {"country_iso_code": "DK"}]


def test_country_database_answers_country_properties() -> None:
    out = source_of([{"geoip": {"field": "ip", "database_file": "GeoLite2-Country.mmdb"}}], {"ip": "89.160.20.128"})
    assert out["geoip"] == {"continent_name": "Europe", "country_name": "Sweden", "country_iso_code": "SE"}


def test_unavailable_database_tags_the_document() -> None:
    out = source_of([{"geoip": {"field": "ip", "database_file": "GeoLite2-ASN.mmdb"}}], {"ip": "8.8.8.8"})
    assert out == {"ip": "8.8.8.8", "tags": ["_geoip_database_unavailable_GeoLite2-ASN.mmdb"]}


def test_errors() -> None:
    assert error_of([{"geoip": {"field": "ip"}}], {"ip": "not-an-ip"})["reason"] == \
        "'not-an-ip' is not an IP string literal."
    assert error_of([{"geoip": {"field": "ip"}}], {"ip": None})["reason"] == \
        "field [ip] is null, cannot extract geoip information."
    assert error_of([{"geoip": {"field": "ip"}}], {"ip": 5})["reason"] == \
        "field [ip] should contain only string or array of strings"
    assert source_of([{"geoip": {"field": "ip", "ignore_missing": True}}], {}) == {}
    with pytest.raises(ParseException, match=r"illegal property value \[asn\]\. valid values are \[IP, "
                                             r"COUNTRY_IN_EUROPEAN_UNION, COUNTRY_ISO_CODE, COUNTRY_NAME"):
        parse_pipeline("p", {"processors": [{"geoip": {"field": "ip", "properties": ["asn"]}}]})


def test_databases_from_ingest_home(ingest_home: Path) -> None:
    from ingest.processors.geo import database_path

    procs = [{"geoip": {"field": "ip", "database_file": "MyCity.mmdb", "target_field": "geo", "properties": ["country_iso_code"]}}]
    assert source_of(procs, {"ip": "89.160.20.128"})["tags"] == ["_geoip_database_unavailable_MyCity.mmdb"]
    bundled = database_path("GeoLite2-City.mmdb")
    assert bundled is not None
    (ingest_home / "ingest-geoip").mkdir()
    shutil.copy(bundled[0], ingest_home / "ingest-geoip" / "MyCity.mmdb")
    # found on the next document, without re-creating the pipeline; its kind comes from its metadata
    assert source_of(procs, {"ip": "89.160.20.128"}) == {"ip": "89.160.20.128", "geo": {"country_iso_code": "SE"}}
