"""TokenService without HTTP: revocation on this node wins over a lookup that raced it."""

from __future__ import annotations

import time

from o16n.server.auth import TokenService
from o16n.server.auth.users import ensure_admin
from o16n.server.config import Settings
from o16n.server.store import db


def test_a_racing_lookup_cannot_revive_a_revoked_grant(tmp_path, monkeypatch):
    monkeypatch.setenv("O16N_ADMIN_PASSWORD", "pw")
    settings = Settings(data_dir=tmp_path)
    engine = db.make_engine(settings.effective_database_url)
    db.migrate(engine)
    sessions = db.session_factory(engine)
    ensure_admin(settings, sessions)
    tokens = TokenService(settings, sessions)
    issued = tokens.login("admin", "pw")
    grant = tokens.verify(issued["access_token"], f"Bearer {issued['access_token']}")
    caller = tokens.lookup_caller(grant)
    assert caller is not None and caller.role == "Owner"

    tokens.revoke(issued["refresh_token"])
    # A lookup that read the row before the revocation committed now stores its stale answer.
    tokens._cache[grant] = (time.monotonic(), caller)
    assert tokens.cached_caller(grant) is None
    assert tokens.lookup_caller(grant) is None
