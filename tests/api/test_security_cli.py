"""``ingest security`` and ``ingest serve`` as real subprocesses, with the unmodified official client.

HTTPS with the fingerprint ``security enable`` prints; ``api_key=`` and ``basic_auth=``; a server bound to a
non-loopback address that refuses every request once security is disabled; the audit log.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import urllib3
from elastic_transport import TlsError
from elasticsearch import AuthenticationException, Elasticsearch

INGEST = [sys.executable, "-m", "ingest.cli.main"]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["INGEST_HOME"] = str(home)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    return env


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*INGEST, *args], env=_env(home), capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(home: Path, *args: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen([*INGEST, "serve", "--port", str(port), "--log-level", "warning", *args],
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "ingest serve did not start"
                time.sleep(0.2)
        yield port, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _enable(home: Path, *extra: str) -> tuple[dict[str, str], str]:
    out = _cli(home, "security", "enable", *extra)
    assert out.returncode == 0, out.stderr
    key = json.loads(out.stdout)
    assert set(key) == {"id", "name", "api_key", "encoded"}
    fingerprint = re.search(r"fingerprint:\s+([0-9a-f]{64})", out.stderr)
    assert fingerprint, out.stderr
    return key, fingerprint.group(1)


def test_enable_disable_status_and_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    status = _cli(home, "security", "status")
    assert status.returncode == 0 and json.loads(status.stdout)["enabled"] is False
    refused = _cli(home, "serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode != 0 and "ingest security enable" in refused.stderr
    key, fingerprint = _enable(home)
    state = json.loads(_cli(home, "security", "status").stdout)
    assert state["enabled"] is True and state["http_ca_fingerprint"] == fingerprint and state["active_api_keys"] == 1
    assert key["api_key"] not in (home / "registry.sqlite").read_bytes().decode("latin-1")
    assert stat.S_IMODE((home / "certs").stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "certs" / "http.key").stat().st_mode) == 0o600
    disabled = _cli(home, "security", "disable")
    assert disabled.returncode == 0 and json.loads(_cli(home, "security", "status").stdout)["enabled"] is False


def test_official_client_https_fingerprint_api_key_and_basic_auth(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key, fingerprint = _enable(home)
    with _server(home, "--ssl") as (port, _):
        url = f"https://127.0.0.1:{port}"
        es = Elasticsearch(url, api_key=key["encoded"], ssl_assert_fingerprint=fingerprint)
        assert es.info()["tagline"] == "You Know, for Search"
        me = es.security.authenticate()
        assert me["authentication_type"] == "api_key" and me["api_key"]["id"] == key["id"]
        es.security.put_user(username="frank", password="frank-password", roles=["inference_user"])
        as_frank = Elasticsearch(url, basic_auth=("frank", "frank-password"), ssl_assert_fingerprint=fingerprint)
        assert as_frank.security.authenticate()["username"] == "frank"
        assert "endpoints" in as_frank.inference.get()
        with pytest.raises(AuthenticationException):
            Elasticsearch(url, basic_auth=("frank", "wrong-password"),
                          ssl_assert_fingerprint=fingerprint).inference.get()
        with pytest.raises(TlsError):  # a wrong fingerprint is refused
            Elasticsearch(url, api_key=key["encoded"], ssl_assert_fingerprint="00" * 32,
                          max_retries=0).info()
        # the client's own key API: role descriptors, and the key works
        made = es.security.create_api_key(name="ci", role_descriptors={"r": {"cluster": ["monitor_inference"]}})
        ci = Elasticsearch(url, api_key=made["encoded"], ssl_assert_fingerprint=fingerprint)
        assert "endpoints" in ci.inference.get()
        # the rest of the security API through the client's own methods
        assert es.security.put_role(name="ops", cluster=["monitor_inference"],
                                    indices=[{"names": ["logs-*"], "privileges": ["read"]}])["role"]["created"]
        assert es.security.get_role(name="ops")["ops"]["indices"][0]["names"] == ["logs-*"]
        assert [k["id"] for k in es.security.get_api_key(id=made["id"])["api_keys"]] == [made["id"]]
        found = es.security.query_api_keys(query={"term": {"name": "ci"}})
        assert found["total"] == 1 and found["api_keys"][0]["id"] == made["id"]
        held = as_frank.security.has_privileges(cluster=["monitor_inference", "manage_inference"])
        assert held["cluster"] == {"monitor_inference": True, "manage_inference": False}
        assert as_frank.security.get_user_privileges()["cluster"] == ["monitor_inference"]
        as_frank.security.change_password(password="frank-password-2")
        assert es.security.invalidate_api_key(ids=[made["id"]])["invalidated_api_keys"] == [made["id"]]
        with pytest.raises(AuthenticationException):
            ci.inference.get()


def test_revoking_every_key_from_the_cli_keeps_the_server_closed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key, _ = _enable(home)
    with _server(home) as (port, _):
        url = f"http://127.0.0.1:{port}"
        assert Elasticsearch(url, api_key=key["encoded"]).info()
        revoked = _cli(home, "keys", "revoke", "--id", key["id"])
        assert revoked.returncode == 0
        http = urllib3.PoolManager()
        assert http.request("GET", f"{url}/_inference").status == 401
        assert http.request("PUT", f"{url}/_security/role/x", body=b'{"cluster":["all"]}',
                            headers={"Content-Type": "application/json"}).status == 401
        with pytest.raises(AuthenticationException):
            Elasticsearch(url, api_key=key["encoded"]).info()


def test_non_loopback_server_stops_serving_when_security_is_disabled(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key, fingerprint = _enable(home, "--audit")
    with _server(home, "--host", "0.0.0.0") as (port, proc):  # HTTPS by default on a non-loopback address
        url = f"https://127.0.0.1:{port}"
        es = Elasticsearch(url, api_key=key["encoded"], ssl_assert_fingerprint=fingerprint, max_retries=0)
        assert es.info()
        http = urllib3.PoolManager(ca_certs=str(home / "certs" / "http_ca.crt"))  # the CA verifies the chain
        assert http.request("GET", f"{url}/_inference").status == 401  # anonymous: refused
        assert _cli(home, "security", "disable").returncode == 0
        deadline = time.monotonic() + 10
        status = 0
        while time.monotonic() < deadline:
            status = http.request("GET", f"{url}/_inference").status
            if status == 503:
                break
            time.sleep(0.2)
        assert status == 503  # open would have been 200: a disabled home never serves a non-loopback bind
        body = json.loads(http.request("GET", f"{url}/_inference",
                                       headers={"Authorization": f"ApiKey {key['encoded']}"}).data)
        assert body["status"] == 503 and "ingest security enable" in body["error"]["reason"]
        _enable(home)
        time.sleep(1.5)
        assert es.info()  # the first key still works once security is back
        assert proc.poll() is None
    audit = home / "logs" / "audit.json"
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    actions = [e["event.action"] for e in events]
    assert "security_enable" in actions and "security_disable" in actions and "authentication_failed" in actions
    assert key["api_key"] not in audit.read_text()


def test_serve_with_own_certificate_and_key(tmp_path: Path) -> None:
    from ingest.server.security.tls import HttpCerts, generate

    home = tmp_path / "home"
    key, _ = _enable(home)
    own = HttpCerts(tmp_path / "own")
    generate(own, hosts=["127.0.0.1", "localhost"])
    half = _cli(home, "serve", "--ssl-certificate", str(own.cert), "--port", "1")
    assert half.returncode != 0 and "go together" in half.stderr
    with _server(home, "--ssl-certificate", str(own.cert), "--ssl-key", str(own.key)) as (port, _):
        # full verification (chain and host name) against the operator's own CA
        es = Elasticsearch(f"https://127.0.0.1:{port}", api_key=key["encoded"], ca_certs=str(own.ca))
        assert es.info()["version"]["number"]
        with pytest.raises(TlsError):  # not the home's CA
            Elasticsearch(f"https://127.0.0.1:{port}", api_key=key["encoded"],
                          ca_certs=str(home / "certs" / "http_ca.crt"), max_retries=0).info()


def test_no_ssl_on_a_public_address_is_explicit_and_warned(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key, _ = _enable(home)
    with _server(home, "--host", "0.0.0.0", "--no-ssl") as (port, proc):
        assert Elasticsearch(f"http://127.0.0.1:{port}", api_key=key["encoded"]).info()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert "WARNING: serving plain HTTP on [0.0.0.0]" in err
