"""``enrich``: add data from an enrich index (x-pack enrich), and an enrich index built from documents.

An enrich policy names a match field and the enrich fields; executing it over source documents builds the enrich
index the processor looks values up in. ``EnrichIndex`` does that in memory from documents it is given (the
Python API). The ``_enrich/policy`` REST APIs, which would build it from the embedded store, are not implemented
yet: processors then find no policy and say so.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import FieldName
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument
from ingest.processors.errors import illegal_argument

POLICY_TYPES = ("match", "range", "geo_match")
NO_POLICY_API = ("the _enrich/policy APIs are not implemented here yet: give policies through the Python API "
                 "(ingest.processors.enrich.EnrichIndex)")


@dataclass(frozen=True)
class EnrichPolicy:
    """A policy as ``PUT _enrich/policy/<name>`` defines it: ``{"match": {"indices", "match_field",
    "enrich_fields", "query"}}`` (or ``range`` / ``geo_match``)."""

    name: str
    type: str
    match_field: str
    enrich_fields: tuple[str, ...]
    indices: tuple[str, ...] = ()
    query: dict[str, Any] | None = field(default=None, compare=False)

    @classmethod
    def from_body(cls, name: str, body: dict[str, Any]) -> EnrichPolicy:
        """The policy of a ``PUT _enrich/policy`` body (one policy type key)."""
        kinds = [k for k in body if k in POLICY_TYPES]
        if len(kinds) != 1 or len(body) != 1 or not isinstance(body[kinds[0]], dict):
            raise illegal_argument(f"policy [{name}] must have exactly one of {list(POLICY_TYPES)}".replace("'", ""))
        spec = body[kinds[0]]
        for required in ("indices", "match_field", "enrich_fields"):
            if spec.get(required) in (None, [], ""):
                raise illegal_argument(f"[{required}] is required for policy [{name}]")
        indices = spec["indices"] if isinstance(spec["indices"], list) else [spec["indices"]]
        return cls(name, kinds[0], spec["match_field"], tuple(spec["enrich_fields"]), tuple(indices),
                   spec.get("query"))


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = doc
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _key(value: Any) -> Any:
    """Term equality as keyword fields see it: strings, numbers and booleans by their JSON value."""
    return (type(value).__name__ if isinstance(value, bool) else "v", value)


def _bounds(spec: Any) -> tuple[Any, Any, bool, bool] | None:
    """A range field value (``{"gte": .., "lt": ..}`` or an IP CIDR string) as (low, high, low_inclusive,
    high_inclusive); None when it is no range."""
    if isinstance(spec, str) and "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)
        return net[0], net[-1], True, True
    if not isinstance(spec, dict):
        return None
    low = spec.get("gte", spec.get("gt"))
    high = spec.get("lte", spec.get("lt"))
    return low, high, "gt" not in spec, "lt" not in spec


def _comparable(value: Any, like: Any) -> Any:
    if isinstance(like, (ipaddress.IPv4Address, ipaddress.IPv6Address)) or (
            isinstance(like, str) and _is_ip(like)):
        return ipaddress.ip_address(value)
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _in_range(value: Any, bounds: tuple[Any, Any, bool, bool]) -> bool:
    low, high, low_in, high_in = bounds
    try:
        if low is not None:
            v, lo = _comparable(value, low), _comparable(low, low)
            if v < lo or (v == lo and not low_in):
                return False
        if high is not None:
            v, hi = _comparable(value, high), _comparable(high, high)
            if v > hi or (v == hi and not high_in):
                return False
    except (TypeError, ValueError):
        return False
    return True


class EnrichIndex:
    """Executed policies and their enrich documents, in memory (an ``EnrichSource``)."""

    def __init__(self) -> None:
        self._policies: dict[str, EnrichPolicy] = {}
        self._docs: dict[str, list[dict[str, Any]]] = {}
        self._terms: dict[str, dict[Any, list[int]]] = {}

    def execute(self, policy: EnrichPolicy, documents: Iterable[dict[str, Any]]) -> int:
        """Build (or rebuild) ``policy``'s enrich index from source documents; returns how many it holds.

        Each enrich document keeps the match field and the enrich fields; documents without the match field are
        left out, as Elasticsearch's policy runner does."""
        if policy.type == "geo_match":
            raise illegal_argument("geo_match enrich policies are not supported here: there is no geometry support")
        docs: list[dict[str, Any]] = []
        terms: dict[Any, list[int]] = {}
        for source in documents:
            match = _get(source, policy.match_field)
            if match is None:
                continue
            doc: dict[str, Any] = {}
            for name in (policy.match_field, *policy.enrich_fields):
                value = _get(source, name)
                if value is not None:
                    _put(doc, name, copy.deepcopy(value))
            if policy.type == "match":
                for item in match if isinstance(match, list) else [match]:
                    terms.setdefault(_key(item), []).append(len(docs))
            docs.append(doc)
        self._policies[policy.name] = policy
        self._docs[policy.name] = docs
        self._terms[policy.name] = terms
        return len(docs)

    def policy(self, name: str) -> EnrichPolicy | None:
        """The executed policy ``name``, or None."""
        return self._policies.get(name)

    def matches(self, name: str, value: Any, max_matches: int) -> list[dict[str, Any]]:
        """Enrich documents matching ``value`` (any of them, for a list), in index order."""
        policy = self._policies[name]
        docs = self._docs[name]
        values = value if isinstance(value, list) else [value]
        if policy.type == "match":
            hits = sorted({i for v in values for i in self._terms[name].get(_key(v), [])})
        else:
            hits = []
            for i, doc in enumerate(docs):
                spec = _get(doc, policy.match_field)
                ranges = [b for b in (_bounds(s) for s in (spec if isinstance(spec, list) else [spec])) if b]
                if any(_in_range(v, b) for v in values for b in ranges):
                    hits.append(i)
        return [copy.deepcopy(docs[i]) for i in hits[:max_matches]]


class EnrichProcessor(Processor):
    """``enrich``: the enrich documents matching a field's value, into ``target_field``."""

    type = "enrich"
    policy_name: str
    field: FieldName
    target: FieldName
    ignore_missing: bool
    override: bool
    max_matches: int

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.policy_name = opts.string("policy_name", required=True)
        p.field = FieldName(opts.string("field", required=True))
        p.ignore_missing = opts.boolean("ignore_missing", False)
        p.override = opts.boolean("override", True)
        p.target = FieldName(opts.string("target_field", required=True))
        p.max_matches = opts.integer("max_matches", 1)
        if not 1 <= p.max_matches <= 128:
            raise opts.error("max_matches", "[max_matches] should be between 1 and 128")
        opts.string("shape_relation")  # geo_match only; such policies are refused when they are executed
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        source = env.enrich
        if source is None or source.policy(self.policy_name) is None:
            why = "" if source is not None else f" ({NO_POLICY_API})"
            raise illegal_argument(f"no enrich index exists for policy with name [{self.policy_name}]{why}")
        name = self.field(doc)
        value = doc.get(name, None) if self.ignore_missing else doc.get(name)
        if value is None:
            return
        hits = source.matches(self.policy_name, value, self.max_matches)
        if not hits:
            return
        target = self.target(doc)
        if self.override or not doc.has(target):
            doc.set(target, hits[0] if self.max_matches == 1 else hits)


PROCESSORS: list[type[Processor]] = [EnrichProcessor]
