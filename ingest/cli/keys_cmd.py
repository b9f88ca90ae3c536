"""``ingest keys``: API keys and basic-auth users for the REST server (stored hashed in $INGEST_HOME)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ingest.cli.models_cmd import fail
from models.errors import ElasticsearchError

keys = typer.Typer(help="Create, list and revoke API keys and users for `ingest serve`.", no_args_is_help=True)

ROLE_HELP = "Built-in role: inference_admin (manage + monitor) or inference_user (monitor and inference calls)."


@keys.command("create")
def create(
    name: Annotated[str, typer.Option(help="A name for the key.")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "inference_user",
    expiration: Annotated[str | None, typer.Option(help="Lifetime such as 30d or 12h; none = no expiry.")] = None,
) -> None:
    """Create an API key; prints it once (as Elasticsearch's create-API-key response) on stdout."""
    from ingest.server.dialect import parse_time
    from ingest.server.security.keys import create_api_key
    from models.store import Store

    try:
        seconds = parse_time(expiration, "expiration") if expiration else None
        key = create_api_key(Store(), name, role, seconds)
    except ElasticsearchError as exc:
        fail(exc)
    body: dict[str, object] = {"id": key.id, "name": key.name, "api_key": key.api_key, "encoded": key.encoded, "role": key.role}
    if key.expiration:
        body["expiration"] = key.expiration
    typer.echo(json.dumps(body))
    typer.echo("Use it as: Authorization: ApiKey <encoded>. It is not shown again.", err=True)


@keys.command("list")
def list_keys() -> None:
    """List keys (ids, names, roles; never the secrets)."""
    from models.store import Store

    for k in Store().list_api_keys():
        typer.echo(json.dumps({"id": k.id, "name": k.name, "role": k.role, "invalidated": k.invalidated}))


@keys.command("revoke")
def revoke(
    key_id: Annotated[str | None, typer.Option("--id", help="Key id to revoke.")] = None,
    name: Annotated[str | None, typer.Option(help="Revoke every key with this name.")] = None,
) -> None:
    """Invalidate keys by id or name."""
    from models.store import Store

    if not key_id and not name:
        typer.echo("give --id or --name", err=True)
        raise typer.Exit(code=2)
    done = Store().invalidate_api_keys(key_id=key_id, name=name)
    typer.echo(json.dumps({"invalidated_api_keys": done, "error_count": 0}))
    if not done:
        raise typer.Exit(code=1)


@keys.command("add-user")
def add_user(
    username: str,
    role: Annotated[str, typer.Option(help=ROLE_HELP)] = "inference_user",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="Read from the terminal when not given.")] = "",
) -> None:
    """Create or replace a basic-auth user (password stored as a PBKDF2 hash)."""
    from ingest.server.security.keys import put_user
    from models.store import Store

    try:
        put_user(Store(), username, password, role)
    except ElasticsearchError as exc:
        fail(exc)
    typer.echo(json.dumps({"created": True, "username": username, "role": role}))


@keys.command("remove-user")
def remove_user(username: str) -> None:
    """Delete a basic-auth user."""
    from models.store import Store

    found = Store().delete_user(username)
    typer.echo(json.dumps({"found": found}))
    if not found:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group to the ingest app."""
    app.add_typer(keys, name="keys")
