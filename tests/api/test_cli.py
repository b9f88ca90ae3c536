"""``ingest keys`` and ``ingest serve`` start-up checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.cli.main import app
from ingest.models.store import Store
from ingest.server.security.keys import verify_api_key

runner = CliRunner()


def test_keys_create_list_revoke(ingest_home: Path) -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "ci", "--role", "inference_admin"])
    assert created.exit_code == 0, created.output
    key = json.loads(created.stdout.splitlines()[0])
    assert verify_api_key(Store(), key["id"], key["api_key"]) is not None
    listed = runner.invoke(app, ["keys", "list"])
    assert key["id"] in listed.stdout and key["api_key"] not in listed.stdout
    bad_role = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "root"])
    assert bad_role.exit_code == 1 and "unknown role [root]" in bad_role.output
    revoked = runner.invoke(app, ["keys", "revoke", "--id", key["id"]])
    assert json.loads(revoked.stdout)["invalidated_api_keys"] == [key["id"]]
    assert verify_api_key(Store(), key["id"], key["api_key"]) is None


def test_serve_refuses_public_bind_without_security(ingest_home: Path) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code != 0
    assert "while security is disabled" in str(result.exception) + result.output
    assert "ingest security enable" in str(result.exception) + result.output


def test_models_list_says_which_variant_is_which(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    monkeypatch.setenv("INGEST_ML_PLATFORM", "darwin-aarch64")
    out = subprocess.run([sys.executable, "-m", "ingest.cli.main", "models", "list", "--json"],
                         capture_output=True, text=True, timeout=60, check=True)
    listed = json.loads(out.stdout)
    assert listed["platform"] == "darwin-aarch64"
    by_id = {m["model_id"]: m for m in listed["models"]}
    assert by_id[".multilingual-e5-small"]["variant"] == "fp32, portable"
    opt = by_id[".multilingual-e5-small_linux-x86_64"]
    assert opt["variant"] == "int8, optimised for linux-x86_64" and opt["available_here"] is False
    assert isinstance(opt["int8_fp32_groups"], list)
    assert by_id[".elser_model_2_linux-x86_64"]["task_type"] == "sparse_embedding"
    text = subprocess.run([sys.executable, "-m", "ingest.cli.main", "models", "list"],
                          capture_output=True, text=True, timeout=60, check=True).stdout
    assert "(not on this platform)" in text and "use .multilingual-e5-small." in text
