"""``user_agent``: Elasticsearch's ingest-user-agent output (ECS ``user_agent.*``) from uap-core's regexes.

Elasticsearch parses with the uap-core ``regexes.yaml`` it ships; here the same project's rules come from the
``ua-parser`` package (``ua-parser-builtins``), so very new or very old agents may name things slightly
differently than a given Elasticsearch release does.
"""

from __future__ import annotations

from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import optional_module
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.errors import illegal_argument

PROPERTIES = ("NAME", "OS", "DEVICE", "ORIGINAL", "VERSION")
DEFAULT_REGEX_FILE = "regexes.yml"


def _version(parts: list[str | None]) -> str | None:
    """``major[.minor[.patch[.build]]]``: each part only when every earlier one is there."""
    out: list[str] = []
    for part in parts:
        if part is None:
            break
        out.append(part)
    return ".".join(out) if out else None


def user_agent_details(parsed: Any, original: str, properties: list[str]) -> dict[str, Any]:
    """The ``user_agent`` object for one parse result (the ``ua_parser.Result`` of ``original``)."""
    details: dict[str, Any] = {}
    agent, system, device = parsed.user_agent, parsed.os, parsed.device
    for prop in properties:
        if prop == "ORIGINAL":
            details["original"] = original
        elif prop == "NAME":
            details["name"] = agent.family if agent is not None else "Other"
        elif prop == "VERSION":
            version = _version([agent.major, agent.minor, agent.patch, agent.patch_minor]) if agent else None
            if version is not None:
                details["version"] = version
        elif prop == "OS":
            if system is not None and system.family and system.family != "Other":
                os_details = {"name": system.family}
                version = _version([system.major, system.minor, system.patch, system.patch_minor])
                if version is not None:
                    os_details["version"] = version
                    os_details["full"] = f"{system.family} {version}"
                details["os"] = os_details
        elif prop == "DEVICE":
            details["device"] = {"name": device.family if device is not None and device.family else "Other"}
    return details


class UserAgentProcessor(Processor):
    """``user_agent``: browser name and version, operating system and device of a User-Agent header."""

    type = "user_agent"
    field: str
    target: str
    properties: list[str]
    ignore_missing: bool
    _parse: Any

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p._parse = optional_module("ua_parser", cls.type, "ua-parser").parse
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", "user_agent")
        regex_file = opts.string("regex_file", DEFAULT_REGEX_FILE)
        if regex_file != DEFAULT_REGEX_FILE:
            raise opts.error("regex_file", f"[regex_file] regex file [{regex_file}] doesn't exist (has to exist at "
                                           "node startup)")
        names = opts.string_list("properties", allow_string=False)
        p.properties = list(PROPERTIES) if names is None else []
        for name in names or []:
            if name.upper() not in PROPERTIES:
                raise opts.error("properties", f"[properties] illegal property value [{name}]. valid values are "
                                               f"[{', '.join(PROPERTIES)}]")
            if name.upper() not in p.properties:
                p.properties.append(name.upper())
        if opts.boolean("extract_device_type", False):
            raise opts.error("extract_device_type", "[extract_device_type] is not supported here: Elasticsearch's "
                                                    "device_type_regexes.yml is not under a licence this project can "
                                                    "ship")
        p.ignore_missing = opts.boolean("ignore_missing", False)
        opts.raw("ecs")  # deprecated and ignored by Elasticsearch: ECS is the only format
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = doc.get(self.field, None) if self.ignore_missing else doc.get(self.field)
        if value is None:
            if self.ignore_missing:
                return
            raise illegal_argument(f"field [{self.field}] is null, cannot parse user-agent.")
        if not isinstance(value, str):
            raise illegal_argument(f"field [{self.field}] of type [{java_type(value)}] cannot be cast to "
                                   "[java.lang.String]")
        doc.set(self.target, user_agent_details(self._parse(value), value, self.properties))


PROCESSORS: list[type[Processor]] = [UserAgentProcessor]
