"""``ingest security``: switch the home's security on and off, from the local CLI only.

While enabled, every request to ``ingest serve`` needs valid credentials (API key or basic auth), whatever keys
exist or are revoked; while disabled, the server is open and serves loopback only. A running server re-reads the
setting every second.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

_HELP = "Enable, disable and inspect security (authentication, TLS, audit) of this INGEST_HOME."
security = typer.Typer(help=_HELP, no_args_is_help=True)


@security.command("enable")
def enable(
    ctx: typer.Context,
    audit: Annotated[bool | None, typer.Option("--audit/--no-audit", help="Write the audit log "
                                               "($INGEST_HOME/logs/audit.json): authentication failures, access "
                                               "denials, security changes (default: unchanged).")] = None,
    new_certificates: Annotated[bool, typer.Option(help="Replace the HTTP CA and certificate.")] = False,
) -> None:
    """Require credentials on every request; print a new superuser API key (once) and the HTTP CA fingerprint."""
    from ingest.cli.context import cli_context
    from ingest.server.security.audit import audit_local
    from ingest.server.security.keys import create_role_key
    from ingest.server.security.tls import generate, home_certs

    store = cli_context(ctx).registry()
    certs = home_certs(store.path.parent)
    if new_certificates or not certs.exist():
        generate(certs)
    was_audited = store.get_setting("security.audit") == "true"
    if audit is not None:
        store.put_setting("security.audit", "true" if audit else "false")
    store.put_setting("security.enabled", "true")
    key = create_role_key(store, f"ingest-security-enable-{int(time.time())}", "superuser")
    audit_local(store, "security_enable", force=was_audited, apikey={"id": key.id, "name": key.name}, audit=audit)
    typer.echo(json.dumps(key.body()))
    typer.echo(f"Security is enabled in {store.path.parent}. The superuser API key above is shown once: use it as "
               f"`Authorization: ApiKey <encoded>` (or api_key=<encoded> in the official client).\n"
               f"HTTP CA certificate SHA-256 fingerprint:\n  {certs.fingerprint()}\n"
               f"CA certificate: {certs.ca}", err=True)


@security.command("disable")
def disable(ctx: typer.Context) -> None:
    """Open the server to anyone on this machine (loopback only; non-loopback servers refuse every request)."""
    from ingest.cli.context import cli_context
    from ingest.server.security.audit import audit_local

    store = cli_context(ctx).registry()
    audit_local(store, "security_disable")
    store.put_setting("security.enabled", "false")
    typer.echo(json.dumps({"enabled": False}))
    typer.echo("Security is disabled: servers of this home accept requests without credentials from this machine "
               "only; servers listening on other addresses refuse every request until security is enabled.",
               err=True)


@security.command("status")
def status(ctx: typer.Context) -> None:
    """Whether security is enabled, the audit log, the HTTP CA fingerprint and how many credentials exist."""
    from ingest.cli.context import cli_context
    from ingest.server.security.authn import SecurityState
    from ingest.server.security.tls import home_certs

    store = cli_context(ctx).registry()
    state = SecurityState.read(store)
    certs = home_certs(store.path.parent)
    keys = store.list_api_keys()
    body = {
        "enabled": state.enabled, "audit": state.audit,
        "http_ca_fingerprint": certs.fingerprint() if certs.exist() else None,
        "http_ca_certificate": str(certs.ca) if certs.exist() else None,
        "active_api_keys": sum(1 for k in keys if not k.invalidated and not (k.expires_at and k.expires_at < time.time())),
        "users": len(store.list_users()), "custom_roles": len(store.get_roles()),
    }
    typer.echo(json.dumps(body))


def register(app: typer.Typer) -> None:
    """Add the ``security`` group to the ingest app."""
    app.add_typer(security, name="security")
