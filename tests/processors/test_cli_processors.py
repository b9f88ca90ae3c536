"""The new processors from outside: ``ingest pipelines simulate`` in a subprocess (exit codes, stdout, stderr)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BODY = {
    "pipeline": {"processors": [
        {"community_id": {}},
        {"network_direction": {"internal_networks": ["private"]}},
        {"registered_domain": {"field": "host", "target_field": "url"}},
        {"user_agent": {"field": "ua"}},
        {"geoip": {"field": "source.ip", "target_field": "geo", "properties": ["country_iso_code"]}},
        {"redact": {"field": "message", "patterns": ["%{EMAILADDRESS:EMAIL}"]}},
        {"date_index_name": {"field": "@timestamp", "index_name_prefix": "logs-", "date_rounding": "d"}},
    ]},
    "docs": [{"_source": {
        "@timestamp": "2024-03-22T05:30:00.000Z", "message": "mail jane@example.com", "host": "www.example.ac.uk",
        "ua": "curl/7.1", "source": {"ip": "89.160.20.128", "port": 34855},
        "destination": {"ip": "192.168.1.1", "port": 80}, "network": {"transport": "tcp"}}}],
}


def _simulate(tmp_path: Path, body: object) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "simulate.json"
    path.write_text(json.dumps(body))
    env = {**os.environ, "INGEST_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "ingest.cli.main", "pipelines", "simulate", str(path)],
                          capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False)


def test_simulate_new_processors_in_a_subprocess(tmp_path: Path) -> None:
    proc = _simulate(tmp_path, BODY)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["docs"][0]["doc"]
    src = doc["_source"]
    assert doc["_index"] == "<logs-{2024-03-22||/d{yyyy-MM-dd|UTC}}>"
    assert src["network"]["community_id"].startswith("1:")
    assert src["network"]["direction"] == "inbound"
    assert src["url"]["registered_domain"] == "example.ac.uk"
    assert src["user_agent"]["name"] == "curl"
    assert src["geo"] == {"country_iso_code": "SE"}
    assert src["message"] == "mail <EMAIL>"


def test_bad_processor_config_exits_non_zero_with_the_reason(tmp_path: Path) -> None:
    body = {"pipeline": {"processors": [{"set": {"field": "a", "value": 1}, "drop": {}}]}, "docs": [{"_source": {}}]}
    proc = _simulate(tmp_path, body)
    assert proc.returncode != 0
    assert "[processors] contains nested objects but should be a list of single-entry objects" in proc.stderr
    assert proc.stdout == ""
