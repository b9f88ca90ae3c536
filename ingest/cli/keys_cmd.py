"""``ingest keys``: API keys and basic-auth users for the REST server (stored hashed in $INGEST_HOME)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ingest.cli.models_cmd import fail
from ingest.models.errors import ElasticsearchError

keys = typer.Typer(help="Create, list and revoke API keys and users for `ingest serve`.", no_args_is_help=True)

ROLE_HELP = ("A built-in role (superuser, inference_admin, inference_user, ingest_admin, editor, viewer) or a role "
             "created with PUT /_security/role/{name}; users take a comma-separated list.")


def _warn_if_disabled(store: object) -> None:
    from ingest.server.security.authn import SecurityState

    if not SecurityState.read(store).enabled:  # type: ignore[arg-type]
        typer.echo("Note: security is disabled in this INGEST_HOME, so the server does not ask for credentials; "
                   "run `ingest security enable`.", err=True)


@keys.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="A name for the key.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "inference_user",
    expiration: Annotated[str | None, typer.Option(help="Lifetime such as 30d or 12h; none = no expiry.")] = None,
) -> None:
    """Create an API key; prints it once (as Elasticsearch's create-API-key response) on stdout."""
    from ingest.cli.context import cli_context
    from ingest.server.dialect import parse_time
    from ingest.server.security.audit import audit_local
    from ingest.server.security.keys import create_role_key

    store = cli_context(ctx).registry()
    try:
        seconds = parse_time(expiration, "expiration") if expiration else None
        key = create_role_key(store, name, role, seconds)
    except ElasticsearchError as exc:
        fail(exc)
    audit_local(store, "create_apikey", apikey={"id": key.id, "name": key.name, "role": role})
    typer.echo(json.dumps(key.body()))
    typer.echo("Use it as: Authorization: ApiKey <encoded>. It is not shown again.", err=True)
    _warn_if_disabled(store)


@keys.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List keys (ids, names, owners, roles; never the secrets)."""
    from ingest.cli.context import cli_context
    from ingest.server.security.keys import descriptors_of

    for k in cli_context(ctx).registry().list_api_keys():
        typer.echo(json.dumps({"id": k.id, "name": k.name, "username": k.owner, "roles": sorted(descriptors_of(k)),
                               "invalidated": k.invalidated}))


@keys.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str | None, typer.Option("--id", help="Key id to revoke.")] = None,
    name: Annotated[str | None, typer.Option(help="Revoke every key with this name.")] = None,
) -> None:
    """Invalidate keys by id or name."""
    from ingest.cli.context import cli_context

    if not key_id and not name:
        typer.echo("give --id or --name", err=True)
        raise typer.Exit(code=2)
    from ingest.server.security.audit import audit_local

    store = cli_context(ctx).registry()
    done = store.invalidate_api_keys(key_id=key_id, name=name)
    audit_local(store, "invalidate_apikeys", apikey={"ids": done})
    typer.echo(json.dumps({"invalidated_api_keys": done, "error_count": 0}))
    if not done:
        raise typer.Exit(code=1)


@keys.command("add-user")
def add_user(
    ctx: typer.Context,
    username: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "inference_user",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Read from the terminal when not given.")] = "",
) -> None:
    """Create or replace a basic-auth user (password stored as a PBKDF2 hash)."""
    from ingest.cli.context import cli_context
    from ingest.server.security.audit import audit_local
    from ingest.server.security.keys import put_user

    store = cli_context(ctx).registry()
    roles = [r.strip() for r in role.split(",") if r.strip()]
    try:
        created = put_user(store, username, password, roles)
    except ElasticsearchError as exc:
        fail(exc)
    audit_local(store, "put_user", put={"user": {"name": username, "roles": roles}})
    typer.echo(json.dumps({"created": created, "username": username, "roles": roles}))
    _warn_if_disabled(store)


@keys.command("remove-user")
def remove_user(ctx: typer.Context, username: str) -> None:
    """Delete a basic-auth user."""
    from ingest.cli.context import cli_context
    from ingest.server.security.audit import audit_local

    store = cli_context(ctx).registry()
    found = store.delete_user(username)
    if found:
        audit_local(store, "delete_user", delete={"user": {"name": username}})
    typer.echo(json.dumps({"found": found}))
    if not found:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group to the ingest app."""
    app.add_typer(keys, name="keys")
