"""Django's /admin/ signs in only through allauth's flow: its rate limits, and the second
factor of a user who has one. Its own login form, which skips both, signs nobody in."""

import random

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth import get_user_model
from django.test import Client

from tests.helpers import APP_HOST, random_address, totp_code


@pytest.fixture
def superuser(db):
    """A superuser with TOTP; a fresh address each run (Redis keeps allauth's counts)."""
    email = f"root-{random.randrange(10**9)}@example.com"
    user = get_user_model().objects.create_superuser(
        username=email, email=email, password="pw-root-1234"
    )
    user.emailaddress_set.create(email=email, verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return user, secret


def _admin_login(client, user, password, address):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": user.username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def _signed_in(client) -> bool:
    return client.get("/admin/auth/user/").status_code == 200


def test_the_admin_login_form_signs_nobody_in_and_sends_them_to_allauth(superuser):
    user, _ = superuser
    client = Client(HTTP_HOST=APP_HOST)
    response = _admin_login(client, user, "pw-root-1234", random_address())  # the right password
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not _signed_in(client)
    assert client.get("/").status_code == 302  # the home page asks for a sign-in too
    assert "_auth_user_id" not in client.session


def test_the_admin_signs_in_with_password_and_second_factor_through_allauth(superuser):
    user, secret = superuser
    client = Client(HTTP_HOST=APP_HOST)
    address = random_address()
    login = client.get("/admin/", REMOTE_ADDR=address)
    assert login.status_code == 302 and login["Location"].startswith("/admin/login/")
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": user.email, "password": "pw-root-1234"},
        REMOTE_ADDR=address,
    )
    assert response["Location"] == "/accounts/2fa/authenticate/"
    assert not _signed_in(client)  # the password alone is not a session
    response = client.post(
        "/accounts/2fa/authenticate/", {"code": totp_code(secret)}, REMOTE_ADDR=address
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert _signed_in(client)


def test_guessing_admin_passwords_is_rate_limited(superuser):
    """Eight wrong passwords, then the right one, at /admin/login/: nobody is signed in.
    At allauth's sign-in, where the admin is sent, five failures lock the account."""
    user, _ = superuser
    client = Client(HTTP_HOST=APP_HOST)
    for n in range(8):
        assert _admin_login(client, user, f"wrong-{n}", random_address()).status_code == 302
    assert _admin_login(client, user, "pw-root-1234", random_address()).status_code == 302
    assert not _signed_in(client)
    for n in range(5):
        client.post(
            "/accounts/login/",
            {"login": user.email, "password": f"wrong-{n}"},
            REMOTE_ADDR=random_address(),
        )
    locked = client.post(
        "/accounts/login/",
        {"login": user.email, "password": "pw-root-1234"},
        REMOTE_ADDR=random_address(),
    )
    assert locked.status_code == 200 and "Too many failed" in locked.content.decode()
    assert not _signed_in(client)


def test_a_signed_in_staff_member_cannot_switch_accounts_through_the_admin_form(superuser):
    """Django's login form would authenticate whoever's password is posted, even for a
    session signed in already; it never runs."""
    root, _ = superuser
    other = get_user_model().objects.create_superuser(
        username=f"b-{root.email}", email=f"b-{root.email}", password="pw-other-1234"
    )
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(other)  # staff without a second factor: the admin is theirs
    assert _signed_in(client)
    response = _admin_login(client, root, "pw-root-1234", random_address())
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(other.pk)


def test_a_staff_session_that_skipped_its_second_factor_reaches_no_admin_page(superuser):
    user, _ = superuser
    client = Client(HTTP_HOST=APP_HOST)
    client.force_login(user)  # as Django's own admin form used to sign in: no second step
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/").status_code == 403  # told, not sent round in circles
    assert not _signed_in(client)
