"""Sessions (SESSION_ENGINE = "orgs.sessions"): Django's database sessions, each row also
holding the sha256 of its key. The sandbox finds the session behind a grant by that hash
in the same query as the grant (artifacts.sandbox.grants), so a session that ends,
however it ends, ends its grants on the next request; grants hold only the hash."""

import hashlib

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


def session_key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


class Session(AbstractBaseSession):
    """A signed-in browser's session, with the sha256 of its key: what a sandbox grant
    points to, so that it lives no longer than its session."""

    key_hash = models.CharField(max_length=64, unique=True)

    class Meta(AbstractBaseSession.Meta):
        app_label = "orgs"

    @classmethod
    def get_session_store_class(cls):
        return SessionStore


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        session.key_hash = session_key_hash(session.session_key)
        return session
