"""Elasticsearch's named privileges as the action patterns they grant (ClusterPrivilegeResolver, IndexPrivilege).

A route names the Elasticsearch action it performs (``cluster:admin/xpack/inference/put``); a privilege grants an
action when one of its patterns matches it (``*`` matches anything, including ``/``), so ``manage`` grants every
cluster action except security ones, exactly as in Elasticsearch, and a 403 can list the privileges that would
have granted the action.
"""

from __future__ import annotations

import fnmatch
import functools
import re

_SECURITY = ("cluster:admin/xpack/security/*",)

# name -> (granted patterns, excluded patterns); narrowest first, the order of Elasticsearch's 403 messages.
CLUSTER: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "none": ((), ()),
    "monitor_inference": (("cluster:monitor/xpack/inference*",
                           "cluster:monitor/xpack/ml/trained_models/deployment/infer"), ()),
    "monitor_ml": (("cluster:monitor/xpack/ml/*",), ()),
    "read_pipeline": (("cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"), ()),
    "monitor": (("cluster:monitor/*",), ()),
    "manage_inference": (("cluster:admin/xpack/inference/*", "cluster:monitor/xpack/inference*",
                          "cluster:admin/xpack/ml/trained_models/deployment/start",
                          "cluster:admin/xpack/ml/trained_models/deployment/stop",
                          "cluster:monitor/xpack/ml/trained_models/deployment/infer"), ()),
    "manage_ml": (("cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"), ()),
    "manage_pipeline": (("cluster:admin/ingest/*",), ()),
    "manage_ingest_pipelines": (("cluster:admin/ingest/pipeline/*",), ()),
    "manage_index_templates": (("indices:admin/template/*", "indices:admin/index_template/*",
                                "cluster:admin/component_template/*"), ()),
    "manage_own_api_key": (("cluster:admin/xpack/security/api_key/*",), ()),
    "manage_api_key": (("cluster:admin/xpack/security/api_key/*",), ()),
    "read_security": (("cluster:admin/xpack/security/*/get", "cluster:admin/xpack/security/*/query",
                       "cluster:admin/xpack/security/api_key/query"), ()),
    "manage_security": (("cluster:admin/xpack/security/*",), ()),
    "manage": (("cluster:*",), _SECURITY),
    "all": (("cluster:*", "indices:admin/template/*", "indices:admin/index_template/*"), ()),
}

INDEX: dict[str, tuple[str, ...]] = {  # narrowest first, the order of Elasticsearch's 403 messages
    "none": (),
    "read": ("indices:data/read/*",),
    "view_index_metadata": ("indices:admin/get", "indices:admin/mappings/get", "indices:admin/settings/get",
                            "indices:monitor/stats", "indices:admin/resolve/index", "indices:admin/aliases/get",
                            "indices:monitor/settings/get"),
    "monitor": ("indices:monitor/*",),
    "maintenance": ("indices:admin/refresh*", "indices:admin/flush*", "indices:admin/forcemerge*"),
    "create_doc": ("indices:data/write/index:op_type/create", "indices:data/write/bulk*",
                   "indices:admin/auto_create"),
    "create": ("indices:data/write/index*", "indices:data/write/bulk*", "indices:admin/auto_create"),
    "delete": ("indices:data/write/delete*", "indices:data/write/bulk*"),
    "index": ("indices:data/write/index*", "indices:data/write/update*", "indices:data/write/bulk*",
              "indices:admin/auto_create"),
    "write": ("indices:data/write/*", "indices:admin/mapping/put", "indices:admin/auto_create"),
    "create_index": ("indices:admin/create", "indices:admin/auto_create"),
    "delete_index": ("indices:admin/delete",),
    "manage": ("indices:monitor/*", "indices:admin/*"),
    "all": ("indices:*",),
}


@functools.lru_cache(maxsize=4096)
def _match(pattern: str, action: str) -> bool:
    return fnmatch.fnmatchcase(action, pattern.replace("[", "[[]").replace("?", "[?]"))


def cluster_grants(privilege: str, action: str) -> bool:
    """Whether the named cluster privilege (or an action pattern such as ``cluster:monitor/*``) grants ``action``."""
    granted, excluded = CLUSTER.get(privilege, ((privilege,) if ":" in privilege else (), ()))
    return any(_match(p, action) for p in granted) and not any(_match(p, action) for p in excluded)


def index_grants(privilege: str, action: str) -> bool:
    """Whether the named index privilege grants ``action`` on an index."""
    patterns = INDEX.get(privilege, (privilege,) if privilege.startswith("indices:") else ())
    return any(_match(p, action) for p in patterns)


def cluster_granted_by(action: str) -> list[str]:
    """The predefined cluster privileges that grant ``action``, for 403 messages (narrowest first)."""
    return [name for name in CLUSTER if cluster_grants(name, action)]


def index_granted_by(action: str) -> list[str]:
    """The predefined index privileges that grant ``action`` (narrowest first)."""
    return [name for name in INDEX if index_grants(name, action)]


def unknown_cluster(names: list[str]) -> list[str]:
    """The names that are neither predefined cluster privileges nor cluster action patterns."""
    return [n for n in names if n not in CLUSTER and not n.startswith("cluster:")]


def unknown_index(names: list[str]) -> list[str]:
    """The names that are not predefined index privileges."""
    return [n for n in names if n not in INDEX and not n.startswith("indices:")]


def index_pattern_matches(pattern: str, index: str) -> bool:
    """Elasticsearch's index name patterns: ``*``/``?`` wildcards, or ``/regex/`` (Lucene-like, anchored)."""
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        body, negate = pattern[1:-1], False
        if body.startswith("~(") and body.endswith(")"):  # Lucene's complement, as in the built-in roles
            body, negate = body[2:-1], True
        try:
            return (re.fullmatch(body, index) is None) == negate
        except re.error:
            return False
    return fnmatch.fnmatchcase(index, pattern.replace("[", "[[]"))
