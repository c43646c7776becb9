"""The console's sessions: a token exchanged for a session that expires, ends on sign-out, and carries a CSRF secret.

The browser holds a random id in an HttpOnly cookie; the node stores only its SHA-256 (as it does a token's), the
user, when it began and ends, and the secret each of the session's forms must send back (OWASP's synchronizer
token). A session grants nothing the user's token would not: the same user, roles and clearance.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from pactnet.audit.chain import AuditRecord
from pactnet.services.users import authenticate, hash_token, user_of
from pactnet.store.instants import instant_text
from pactnet.store.tables import console_sessions

if TYPE_CHECKING:
    from pactnet.services.context import Node
    from pactnet.services.users import User

# A working day: long enough not to interrupt a shift, short enough that a forgotten browser is not signed in
# tomorrow (OWASP session management: an absolute timeout).
LIFETIME = timedelta(hours=8)
# Longer than any id we hand out; anything longer is not ours and is not looked up.
_LONGEST_ID = 100


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in user as the console sees them: who, the form secret, and the session's own id."""

    user: User
    csrf: str
    id: str

    def accepts(self, sent: str) -> bool:
        """Whether a form's CSRF field is this session's secret (compared in constant time)."""
        return hmac.compare_digest(self.csrf.encode(), sent.encode())


def sign_in(node: Node, token: str) -> Session | None:
    """A new session for the enabled user holding `token`, or None; expired sessions are cleared on the way."""
    user = authenticate(node, token[:200])
    if user is None:
        return None
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = node.now()
    expires = instant_text(now + LIFETIME)
    with node.uow.transaction() as connection:
        connection.execute(delete(console_sessions).where(console_sessions.c.expires_at <= instant_text(now)))
        connection.execute(
            insert(console_sessions).values(
                id_hash=hash_token(session_id),
                user_id=user.id,
                created_at=instant_text(now),
                expires_at=expires,
                csrf=csrf,
            )
        )
        # An access to the node, as the API's reads are: who, when, until when; never the id or the token.
        record = AuditRecord("console-signed-in", user.name, user.name, {"expires": expires})
        node.audit.append(connection, instant_text(now), [record])
    return Session(user, csrf, session_id)


def current(node: Node, session_id: str) -> Session | None:
    """The live session with this id, or None: unknown, expired, ended, or its user disabled all fail closed."""
    if not session_id or len(session_id) > _LONGEST_ID:
        return None
    now = instant_text(node.now())
    with node.uow.read() as connection:
        row = connection.execute(
            select(console_sessions).where(console_sessions.c.id_hash == hash_token(session_id))
        ).first()
        if row is None or row.expires_at <= now:
            return None
        user = user_of(node, connection, int(row.user_id))
    return None if user is None else Session(user, str(row.csrf), session_id)


def sign_out(node: Node, session: Session) -> None:
    """End the session on the server: its id no longer signs anyone in, whatever the browser keeps."""
    with node.uow.transaction() as connection:
        connection.execute(delete(console_sessions).where(console_sessions.c.id_hash == hash_token(session.id)))
        record = AuditRecord("console-signed-out", session.user.name, session.user.name, {})
        node.audit.append(connection, instant_text(node.now()), [record])
