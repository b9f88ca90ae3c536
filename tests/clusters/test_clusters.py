"""The session nodes are the real engines, with the plugins the sinks rely on."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.cluster


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def test_opensearch_node_has_knn_and_rank_features(opensearch_url: str) -> None:
    info = _get(opensearch_url + "/")
    assert info["version"]["distribution"] == "opensearch" and info["version"]["number"].startswith("2.19.")
    nodes = _get(opensearch_url + "/_nodes/plugins")["nodes"]
    plugins = {p["classname"] for node in nodes.values() for p in node["plugins"]}
    assert {"org.opensearch.knn.plugin.KNNPlugin", "org.opensearch.index.mapper.MapperExtrasPlugin",
            "org.opensearch.transport.Netty4Plugin", "org.opensearch.painless.PainlessPlugin",
            "org.opensearch.analysis.common.CommonAnalysisPlugin"} <= plugins
    assert opensearch_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("fixture, major", [("elasticsearch_url", "8."), ("elasticsearch9_url", "9.")])
def test_elasticsearch_nodes(request: pytest.FixtureRequest, fixture: str, major: str) -> None:
    url = request.getfixturevalue(fixture)
    nodes = _get(url + "/_nodes/_local?filter_path=nodes.*.version,nodes.*.settings.xpack.security")["nodes"]
    node = next(iter(nodes.values()))
    assert node["version"].startswith(major)
    assert node["settings"]["xpack"]["security"]["enabled"] == "false"
    assert _get(url + "/_cluster/health")["number_of_nodes"] == 1
