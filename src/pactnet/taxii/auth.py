"""Who is asking a TAXII route and whether they may: HTTP Basic (user name, API token) or a bearer token.

The same users, tokens, duties and clearances as the API (services.users, services.roles): MISP's TAXII push
sends Basic credentials, OpenCTI's connector and scripts a bearer token. No `from __future__ import
annotations` here: FastAPI reads these annotations at run time.
"""

import base64
import binascii
import hmac
from typing import Annotated

from fastapi import Depends, Request

from pactnet.services import users
from pactnet.services.roles import Duty
from pactnet.taxii.errors import TaxiiError

# RFC 9110 §11.6.1: both schemes are offered, each with its realm.
CHALLENGE = 'Basic realm="pactnet TAXII", Bearer realm="pactnet TAXII"'
_LONGEST = 400


def _unauthorized(description: str) -> TaxiiError:
    return TaxiiError(401, "Unauthorized", description, headers={"WWW-Authenticate": CHALLENGE})


def _basic(encoded: str) -> tuple[str, str]:
    """The user name and token of Basic credentials (RFC 7617)."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise _unauthorized("the Basic credentials are not base64 of 'user name:API token'") from error
    name, colon, token = decoded.partition(":")
    if not colon:
        raise _unauthorized("the Basic credentials are not 'user name:API token'")
    return name, token


def taxii_user(request: Request) -> users.User:
    """The user of the request's credentials, or 401 with the TAXII error resource."""
    header = request.headers.get("authorization", "")[:_LONGEST]
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer":
        name, token = None, credentials.strip()
    elif scheme.lower() == "basic":
        name, token = _basic(credentials)
    else:
        raise _unauthorized("send HTTP Basic (your user name and API token) or Authorization: Bearer TOKEN")
    found = users.authenticate(request.app.state.node, token)
    if found is None or (name is not None and not hmac.compare_digest(name.encode(), found.name.encode())):
        raise _unauthorized("the credentials are not valid, or their user is disabled")
    return found


class TaxiiDutyCheck:
    """A TAXII route's dependency: the authenticated user, if one of the user's roles carries `duty`; else 403.

    As api.auth.DutyCheck, it keeps the duty, so that docs/node.md's table of routes can be checked against it.
    """

    def __init__(self, duty: Duty) -> None:
        self.duty = duty

    def __call__(self, request: Request) -> users.User:
        """The user, once the duty is checked.

        One dependency, not two (the user, then the duty): each sync dependency is a hop through the thread pool,
        and a GET by id waits for every hop.
        """
        who = taxii_user(request)
        who.require(self.duty)
        return who


Reader = Annotated[users.User, Depends(TaxiiDutyCheck(Duty.READ))]
Publisher = Annotated[users.User, Depends(TaxiiDutyCheck(Duty.PUBLISH))]
