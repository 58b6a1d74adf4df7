"""Personas shared by the suite: owner, admin, member (the usual author), other member,
viewer, outsider (owner of another org) and anonymous."""

import pytest
from django.test import Client

from orgs.models import Role
from orgs.services import member_add, org_create, token_create
from tests.helpers import APP_HOST, Persona


@pytest.fixture
def org(db):
    return org_create(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return org_create(slug="globex", name="Globex")


def _persona(name, organization, role):
    membership = member_add(
        organization=organization, email=f"{name}@example.com", role=role, password="pw-" + name
    )
    _, secret = token_create(
        user=membership.user, organization=organization, name="test", mfa_used=True
    )
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(membership.user)
    return Persona(name, membership.user, secret, client)


@pytest.fixture
def personas(org, other_org):
    """Every persona, keyed by name; `member` is the author of the artifacts under test."""
    people = {
        "owner": _persona("owner", org, Role.OWNER),
        "admin": _persona("admin", org, Role.ADMIN),
        "member": _persona("member", org, Role.MEMBER),
        "other_member": _persona("other", org, Role.MEMBER),
        "viewer": _persona("viewer", org, Role.VIEWER),
        "outsider": _persona("outsider", other_org, Role.OWNER),
    }
    people["anonymous"] = Persona("anonymous", None, None, Client(HTTP_HOST=APP_HOST))
    return people


@pytest.fixture
def member(personas):
    return personas["member"]
