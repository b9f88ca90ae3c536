"""Elasticsearch's privilege semantics, role descriptors and the API key query DSL, as pure functions."""

from __future__ import annotations

import pytest

from ingest.models.errors import ElasticsearchError
from ingest.server.security.keyquery import query_keys
from ingest.server.security.privileges import (
    cluster_granted_by,
    cluster_grants,
    index_grants,
    index_pattern_matches,
)
from ingest.server.security.roles import (
    RESERVED,
    IndicesPrivileges,
    Permission,
    RoleDescriptor,
    parse_descriptors,
)


def test_cluster_privileges_grant_what_elasticsearch_grants() -> None:
    assert cluster_grants("manage", "cluster:admin/xpack/inference/put")
    assert not cluster_grants("manage", "cluster:admin/xpack/security/api_key/create")  # manage excludes security
    assert cluster_grants("monitor", "cluster:monitor/xpack/inference")  # cluster:monitor/* covers inference calls
    assert cluster_grants("read_pipeline", "cluster:admin/ingest/pipeline/simulate")
    assert not cluster_grants("read_pipeline", "cluster:admin/ingest/pipeline/put")
    assert not cluster_grants("manage_ml", "cluster:admin/xpack/inference/put")
    assert cluster_grants("cluster:monitor/xpack/*", "cluster:monitor/xpack/ml/trained_models/stats/get")
    assert cluster_granted_by("cluster:admin/ingest/pipeline/put") == ["manage_pipeline", "manage_ingest_pipelines",
                                                                       "manage", "all"]


def test_index_privileges_and_patterns() -> None:
    assert index_grants("write", "indices:data/write/update")
    assert index_grants("create_doc", "indices:data/write/index:op_type/create")
    assert not index_grants("create_doc", "indices:data/write/index")
    assert not index_grants("read", "indices:data/write/index")
    assert index_pattern_matches("logs-*", "logs-2024") and not index_pattern_matches("logs-*", "metrics")
    assert index_pattern_matches("/logs-[0-9]+/", "logs-42") and not index_pattern_matches("/logs-[0-9]+/", "logs-x")
    hidden = "/~(([.]|ilm-history-).*)/"
    assert index_pattern_matches(hidden, "docs") and not index_pattern_matches(hidden, ".security")


def test_permission_is_the_intersection_of_its_layers() -> None:
    docs = RoleDescriptor(cluster=["monitor_inference"],
                          indices=[IndicesPrivileges(names=["docs*"], privileges=["read", "write"])])
    reader = RoleDescriptor(indices=[IndicesPrivileges(names=["*"], privileges=["read"])])
    both = Permission(((docs,), (reader,)))
    assert both.index("indices:data/read/get", "docs-1")
    assert not both.index("indices:data/write/index", "docs-1")  # the second layer only reads
    assert not both.index("indices:data/read/get", "other")  # the first layer only has docs*
    assert not both.cluster("cluster:monitor/xpack/inference")
    union = Permission(((docs, reader),))
    assert union.index("indices:data/read/get", "other") and union.cluster("cluster:monitor/xpack/inference")
    assert Permission.from_json(both.to_json()) == both
    with pytest.raises(ValueError):
        Permission(())


def test_role_descriptors_are_validated() -> None:
    with pytest.raises(ElasticsearchError, match=r"unknown cluster privilege \[fly\]"):
        parse_descriptors({"r": {"cluster": ["fly"]}})
    with pytest.raises(ElasticsearchError, match=r"unknown index privilege \[scribble\]"):
        parse_descriptors({"r": {"indices": [{"names": "a", "privileges": "scribble"}]}})
    with pytest.raises(ElasticsearchError, match="not supported"):
        parse_descriptors({"r": {"run_as": ["elastic"]}})
    with pytest.raises(ElasticsearchError):  # field-level security is refused, not ignored
        parse_descriptors({"r": {"indices": [{"names": ["a"], "privileges": ["read"], "field_security": {}}]}})
    assert RESERVED["inference_user"].cluster == ["monitor_inference"]
    assert RESERVED["inference_admin"].cluster == ["manage_inference"]


def test_query_api_keys_dsl() -> None:
    keys = [{"id": str(i), "name": f"key-{i}", "username": "u" if i % 2 else "v", "realm": "native",
             "creation": 1000 + i, "invalidated": i == 3, "metadata": {"env": "prod" if i < 2 else "dev"}}
            for i in range(5)]
    total, page = query_keys(keys, {"query": {"bool": {"filter": [{"term": {"username": "u"}}],
                                                       "must_not": [{"term": {"invalidated": True}}]}}})
    assert total == 1 and [k["id"] for k in page] == ["1"]
    total, page = query_keys(keys, {"query": {"prefix": {"name": "key-"}}, "sort": [{"creation": "desc"}],
                                    "from": 1, "size": 2})
    assert total == 5 and [k["id"] for k in page] == ["3", "2"]
    assert query_keys(keys, {"query": {"range": {"creation": {"gte": 1003}}}})[0] == 2
    assert query_keys(keys, {"query": {"term": {"metadata.env": "prod"}}})[0] == 2
    assert query_keys(keys, {"query": {"ids": {"values": ["0", "4"]}}})[0] == 2
    assert query_keys(keys, {"query": {"wildcard": {"name": "key-?"}}})[0] == 5
    with pytest.raises(ElasticsearchError, match="not currently supported"):
        query_keys(keys, {"query": {"script": {}}})
    with pytest.raises(ElasticsearchError, match="must be numbers"):
        query_keys(keys, {"query": {"range": {"creation": {"gte": "now-1d"}}}})
    with pytest.raises(ElasticsearchError, match="not allowed"):
        query_keys(keys, {"query": {"term": {"api_key_hash": "x"}}})
