"""``geoip`` / ``ip_location``: location of an IP address from a MaxMind DB file, with ingest-geoip's output.

Databases: ``$INGEST_HOME/ingest-geoip/<database_file>`` when present (any GeoIP2/GeoLite2 City, Country or ASN
file, as in Elasticsearch's config directory), else the bundled GeoLite2 City of 2018-07 from the
``maxminddb-geolite2`` package (CC BY-SA 4.0, by MaxMind), which also answers ``GeoLite2-Country.mmdb`` (a
subset of the same records). A database that is not there tags the document
``_geoip_database_unavailable_<file>``, as Elasticsearch does while a database is not downloaded yet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument
from ingest.processors.network import parse_ip

CITY = ("IP", "COUNTRY_IN_EUROPEAN_UNION", "COUNTRY_ISO_CODE", "CONTINENT_CODE", "COUNTRY_NAME", "CONTINENT_NAME",
        "REGION_ISO_CODE", "REGION_NAME", "CITY_NAME", "TIMEZONE", "LOCATION", "POSTAL_CODE", "ACCURACY_RADIUS",
        "REGISTERED_COUNTRY_IN_EUROPEAN_UNION", "REGISTERED_COUNTRY_ISO_CODE", "REGISTERED_COUNTRY_NAME")
CITY_DEFAULT = ("COUNTRY_ISO_CODE", "COUNTRY_NAME", "CONTINENT_NAME", "REGION_ISO_CODE", "REGION_NAME", "CITY_NAME",
                "LOCATION")
COUNTRY = ("IP", "CONTINENT_CODE", "CONTINENT_NAME", "COUNTRY_NAME", "COUNTRY_IN_EUROPEAN_UNION", "COUNTRY_ISO_CODE",
           "REGISTERED_COUNTRY_IN_EUROPEAN_UNION", "REGISTERED_COUNTRY_ISO_CODE", "REGISTERED_COUNTRY_NAME")
COUNTRY_DEFAULT = ("CONTINENT_NAME", "COUNTRY_NAME", "COUNTRY_ISO_CODE")
ASN = ("IP", "ASN", "ORGANIZATION_NAME", "NETWORK")
# database type suffix → (valid properties, default properties)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "City": (CITY, CITY_DEFAULT), "Country": (COUNTRY, COUNTRY_DEFAULT), "ASN": (ASN, ASN)}
BUNDLED = {"GeoLite2-City.mmdb": "City", "GeoLite2-Country.mmdb": "Country"}


def _name(record: dict[str, Any] | None) -> Any:
    return (record or {}).get("names", {}).get("en")


def _city(record: dict[str, Any], ip: str, props: list[str]) -> dict[str, Any]:
    """MaxmindIpDataLookups.City / Country: each property only when the database has it."""
    country, registered = record.get("country") or {}, record.get("registered_country") or {}
    continent, location = record.get("continent") or {}, record.get("location") or {}
    subdivision = (record.get("subdivisions") or [{}])[-1]  # the most specific one
    data: dict[str, Any] = {}
    values: dict[str, Callable[[], Any]] = {
        "ip": lambda: ip,
        "country_in_european_union": lambda: bool(country.get("is_in_european_union", False))
        if country.get("iso_code") else None,
        "country_iso_code": lambda: country.get("iso_code"),
        "country_name": lambda: _name(country),
        "continent_code": lambda: continent.get("code"),
        "continent_name": lambda: _name(continent),
        "region_iso_code": lambda: f"{country['iso_code']}-{subdivision['iso_code']}"
        if country.get("iso_code") and subdivision.get("iso_code") else None,
        "region_name": lambda: _name(subdivision),
        "city_name": lambda: _name(record.get("city")),
        "timezone": lambda: location.get("time_zone"),
        "location": lambda: {"lat": location["latitude"], "lon": location["longitude"]}
        if location.get("latitude") is not None and location.get("longitude") is not None else None,
        "accuracy_radius": lambda: location.get("accuracy_radius"),
        "postal_code": lambda: (record.get("postal") or {}).get("code"),
        "registered_country_in_european_union": lambda: bool(registered.get("is_in_european_union", False))
        if registered.get("iso_code") else None,
        "registered_country_iso_code": lambda: registered.get("iso_code"),
        "registered_country_name": lambda: _name(registered),
    }
    for prop in props:
        value = values[prop.lower()]()
        if value is not None:
            data[prop.lower()] = value
    return data


def _asn(record: dict[str, Any], ip: str, network: str, props: list[str]) -> dict[str, Any]:
    values = {"ip": ip, "asn": record.get("autonomous_system_number"),
              "organization_name": record.get("autonomous_system_organization"), "network": network}
    return {p.lower(): values[p.lower()] for p in props if values[p.lower()] is not None}


class Database:
    """One opened MaxMind DB file and what kind of records it holds."""

    def __init__(self, reader: Any, kind: str) -> None:
        self.reader = reader
        self.kind = kind

    def lookup(self, ip: str, props: list[str]) -> dict[str, Any]:
        """The properties for ``ip`` ({} when the database has no record for it)."""
        address = parse_ip(ip)
        record, prefix = self.reader.get_with_prefix_len(address)
        if not record:
            return {}
        if self.kind == "ASN":
            import ipaddress

            network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
            return _asn(record, ip, network, props)
        return _city(record, ip, props)


def database_path(file_name: str) -> tuple[Path, str | None] | None:
    """Where ``file_name`` is: ``$INGEST_HOME/ingest-geoip/<file>`` first, else the bundled GeoLite2 City (with the
    kind it answers as); None when neither is there."""
    from ingest.models.home import ingest_home

    local = ingest_home() / "ingest-geoip" / file_name
    if local.is_file():
        return local, None
    if file_name in BUNDLED:
        try:
            import _maxminddb_geolite2  # the data package of maxminddb-geolite2
        except ImportError:
            return None
        return Path(_maxminddb_geolite2.__file__).parent / "GeoLite2-City.mmdb", BUNDLED[file_name]
    return None


@functools.lru_cache(maxsize=32)
def _open(path: Path, mtime: float, kind: str | None) -> Database | None:
    import maxminddb

    reader = maxminddb.open_database(str(path))
    if kind is None:
        kind = next((k for k in KINDS if reader.metadata().database_type.endswith(f"-{k}")), None)
    return Database(reader, kind) if kind else None


def open_database(file_name: str) -> Database | None:
    """The database called ``file_name``, or None. Each file is opened once (it maps up to 50 MB) and again when
    it changes; a file put in place later is found on the next document."""
    try:
        import maxminddb  # noqa: F401
    except ImportError:
        return None
    found = database_path(file_name)
    if found is None:
        return None
    path, kind = found
    return _open(path, path.stat().st_mtime, kind)


def _kind_of(file_name: str) -> str:
    stem = file_name.removesuffix(".mmdb")
    return next((k for k in KINDS if stem.endswith(f"-{k}")), "City")


class GeoIpProcessor(Processor):
    """``geoip``: continent, country, region, city and location of an IP address (or the first of a list)."""

    type = "geoip"
    default_target = "geoip"
    field: str
    target: str
    database_file: str
    properties: list[str]
    ignore_missing: bool
    first_only: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", cls.default_target)
        p.database_file = opts.string("database_file", "GeoLite2-City.mmdb")
        names = opts.string_list("properties", allow_string=False)
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.first_only = opts.boolean("first_only", True)
        opts.boolean("download_database_on_pipeline_creation", True)
        db = open_database(p.database_file)
        kind = db.kind if db is not None else _kind_of(p.database_file)
        valid, default = KINDS[kind]
        if names is None:
            p.properties = list(default)
        else:
            p.properties = []
            for name in names:
                if name.upper() not in valid:
                    raise opts.error("properties", f"[properties] illegal property value [{name}]. valid values are "
                                                   f"[{', '.join(sorted(valid, key=_ORDER.index))}]")
                p.properties.append(name.upper())
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = doc.get(self.field, None) if self.ignore_missing else doc.get(self.field)
        if value is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{self.field}] is null, cannot extract geoip information.")
        db = open_database(self.database_file)
        if db is None:
            tags = doc.get("tags", None)
            if not isinstance(tags, list):
                tags = []
                doc.set("tags", tags)
            tags.append(f"_{self.type}_database_unavailable_{self.database_file}")
            return
        if isinstance(value, str):
            data: Any = db.lookup(value, self.properties)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            found = [r for r in (db.lookup(v, self.properties) for v in value) if r]
            data = (found[0] if found else {}) if self.first_only else found
        else:
            raise illegal_argument(f"field [{self.field}] should contain only string or array of strings")
        if data:
            doc.set(self.target, data)


class IpLocationProcessor(GeoIpProcessor):
    """``ip_location``: the same processor under its newer name (default target ``ip_location``)."""

    type = "ip_location"
    default_target = "ip_location"


# Property order of Elasticsearch's Database.Property enum (error messages list valid values in it).
_ORDER = ("IP", "COUNTRY_CONFIDENCE", "COUNTRY_IN_EUROPEAN_UNION", "COUNTRY_ISO_CODE", "COUNTRY_NAME",
          "CONTINENT_CODE", "CONTINENT_NAME", "REGION_ISO_CODE", "REGION_NAME", "CITY_CONFIDENCE", "CITY_NAME",
          "TIMEZONE", "LOCATION", "ASN", "ORGANIZATION_NAME", "NETWORK", "POSTAL_CODE", "ACCURACY_RADIUS",
          "REGISTERED_COUNTRY_IN_EUROPEAN_UNION", "REGISTERED_COUNTRY_ISO_CODE", "REGISTERED_COUNTRY_NAME")

PROCESSORS: list[type[Processor]] = [GeoIpProcessor, IpLocationProcessor]
