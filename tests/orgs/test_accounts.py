"""Accounts through django-allauth: sign-up with email verification, sign-in by email,
password reset. Email is captured by Django's test outbox."""

import re

from django.core import mail
from django.test import Client

from tests.helpers import APP_HOST


def link_in(message) -> str:
    return re.search(r"http://localhost:8000(/accounts/\S+)", message.body).group(1)


def test_sign_up_requires_verifying_the_email_then_signs_in(db):
    client = Client(HTTP_HOST=APP_HOST)
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/").status_code == 302  # not signed in before verifying
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@example.com"]
    confirm = link_in(mail.outbox[0])
    assert client.post(confirm).status_code == 302
    signed_in = Client(HTTP_HOST=APP_HOST)
    response = signed_in.post(
        "/accounts/login/", {"login": "new@example.com", "password": "a-long-pass-phrase"}
    )
    assert response.status_code == 302
    assert signed_in.get("/").status_code == 200


def test_password_reset_by_email(personas):
    client = Client(HTTP_HOST=APP_HOST)
    assert (
        client.post("/accounts/password/reset/", {"email": "member@example.com"}).status_code == 302
    )
    reset = link_in(mail.outbox[-1])
    form = client.get(reset, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else reset,
        {"password1": "brand-new-pass-99", "password2": "brand-new-pass-99"},
    )
    assert response.status_code == 302
    login = Client(HTTP_HOST=APP_HOST).post(
        "/accounts/login/", {"login": "member@example.com", "password": "brand-new-pass-99"}
    )
    assert login.status_code == 302


def test_a_sign_in_is_audited_in_each_org_of_the_user(personas):
    from orgs.models import AuditEvent

    response = Client(HTTP_HOST=APP_HOST).post(
        "/accounts/login/", {"login": "member@example.com", "password": "pw-member"}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="member.sign_in")
    assert (event.organization.slug, event.actor, event.details) == (
        "acme",
        personas["member"].user,
        {"address": "127.0.0.1"},
    )
    failed = Client(HTTP_HOST=APP_HOST).post(
        "/accounts/login/", {"login": "member@example.com", "password": "wrong"}
    )
    assert failed.status_code == 200
    assert AuditEvent.objects.filter(action="member.sign_in").count() == 1
