"""How a `pactnet remote` command reaches its node: the URL, the token, the CA, and the exit code of each failure."""

from __future__ import annotations

import functools
import inspect
import os
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.text import Text

from pactnet.cli.terminal import EXIT_BAD_INPUT, Result, err, shown
from pactnet.client import (
    ClientError,
    NodeClient,
    NodeUnavailableError,
    RequestRefusedError,
    check_token,
    check_url,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

# Exit codes: 2 for what the user can change (a refusal, bad input, a wrong token), 1 for a node that cannot be
# reached or fails.
EXIT_UNAVAILABLE = 1
TOKEN_VARIABLE = "PACTNET_TOKEN"  # noqa: S105 - the name of the variable, not a token

URL = typer.Option(
    None, "--url", envvar="PACTNET_URL", help="The node's URL, e.g. https://rok.example:8470.", show_default=False
)
TOKEN = typer.Option(
    None,
    "--token",
    help=f"The API token (prefer ${TOKEN_VARIABLE} or --token-file: a flag is seen by other users of the machine).",
    show_default=False,
)
TOKEN_FILE = typer.Option(None, "--token-file", help="A file holding the API token.", show_default=False)
CA_FILE = typer.Option(
    None,
    "--ca-file",
    envvar="PACTNET_CA_FILE",
    help="A PEM file of the CA that signed the node's certificate (default: the system's trust store).",
    show_default=False,
)
PLAIN_HTTP = typer.Option(
    False, "--allow-plain-http", help="Send the token over plain HTTP to a machine other than this one."
)
AS_JSON = typer.Option(False, "--json", help="Print the API's JSON.")


@dataclass(frozen=True)
class Access:
    """What a command was told about its node."""

    url: str | None
    token: str | None
    token_file: Path | None
    ca_file: Path | None
    allow_plain_http: bool


# Each field of Access as the option a command shows, after the command's own options (tests and scripts give
# them after the subcommand, so they belong to every command, not to the group).
_ACCESS_OPTIONS = {
    "url": URL,
    "token": TOKEN,
    "token_file": TOKEN_FILE,
    "ca_file": CA_FILE,
    "allow_plain_http": PLAIN_HTTP,
}
_ACCESS_TYPES: dict[str, Any] = {
    "url": str | None,
    "token": str | None,
    "token_file": Path | None,
    "ca_file": Path | None,
    "allow_plain_http": bool,
}


def reaching_node(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the options that say how to reach its node; it receives them as one `access: Access`.

    Typer reads a command's options from its signature: the wrapper shows the command's own parameters, then
    --url, --token, --token-file, --ca-file and --allow-plain-http, and hands the command their `Access`.
    """
    signature = inspect.signature(command, eval_str=True)
    own = [parameter for name, parameter in signature.parameters.items() if name != "access"]
    added = [
        inspect.Parameter(
            field.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=_ACCESS_OPTIONS[field.name],
            annotation=_ACCESS_TYPES[field.name],
        )
        for field in fields(Access)
    ]

    @functools.wraps(command)
    def run(**given: Any) -> None:  # noqa: ANN401 - Typer passes every option by name, each of its own type
        access = Access(**{field.name: given.pop(field.name) for field in fields(Access)})
        command(**given, access=access)

    shown = signature.replace(parameters=[*own, *added])
    run.__signature__ = shown  # type: ignore[attr-defined]  # Typer reads it (inspect.signature honours it)
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in shown.parameters.values()}
    return run


def _stop(message: str, code: int) -> NoReturn:
    err.print(Text.assemble(("error:", "bold red"), " ", message))
    raise typer.Exit(code)


def _token(access: Access) -> str:
    """--token, else --token-file, else $PACTNET_TOKEN; never repeated in a message."""
    if access.token is not None and access.token_file is not None:
        raise ClientError("give the token once: --token or --token-file, not both")
    if access.token is not None:
        return check_token(access.token)
    if access.token_file is not None:
        try:
            text = access.token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ClientError(f"--token-file {access.token_file}: cannot be read ({type(error).__name__})") from error
        return check_token(text)
    found = os.environ.get(TOKEN_VARIABLE)
    if not found:
        raise ClientError(f"no token: set {TOKEN_VARIABLE}, or say --token-file FILE (`pactnet user add` prints one)")
    return check_token(found)


def _client(access: Access) -> NodeClient:
    if not access.url:
        raise ClientError("no node: set PACTNET_URL, or say --url URL (e.g. https://rok.example:8470)")
    url = check_url(access.url, allow_plain_http=access.allow_plain_http)
    return NodeClient(url, _token(access), access.ca_file)


@contextmanager
def connected(access: Access) -> Iterator[NodeClient]:
    """A client of the node, closed afterwards; any failure is one line on standard error and its exit code."""
    try:
        client = _client(access)
    except ClientError as error:
        _stop(str(error), EXIT_BAD_INPUT)
    try:
        with client:
            yield client
    except RequestRefusedError as error:
        _stop(str(error), EXIT_BAD_INPUT)
    except NodeUnavailableError as error:
        _stop(str(error), EXIT_UNAVAILABLE)
    except ClientError as error:
        _stop(str(error), EXIT_BAD_INPUT)


def show_from(
    access: Access, ask: Callable[[NodeClient], Result], *, as_json: bool, as_text: Callable[[Result], None]
) -> Result:
    """The node's answer to what `ask` asks of it: as the API's JSON (--json), else as `as_text` prints it; returned."""
    with connected(access) as node:
        found = ask(node)
    shown(found, as_json=as_json, as_text=as_text)
    return found
