"""System checks of the two-origin set-up, and allauth's redirect safety."""

from io import StringIO

from django.core.management import call_command
from django.test import override_settings

from config.checks import check_sandbox_isolation
from orgs.adapters import AccountAdapter


def ids(errors):
    return sorted(e.id for e in errors)


def run_checks():
    return check_sandbox_isolation(None)


def test_default_settings_pass_manage_py_check(db):
    out = StringIO()
    call_command("check", stdout=out)
    assert "no issues" in out.getvalue()
    assert ids(run_checks()) == []


@override_settings(SESSION_COOKIE_DOMAIN=".localhost")
def test_cookie_domain_covering_the_sandbox_is_refused():
    assert ids(run_checks()) == ["artifacts.E003"]


@override_settings(CSRF_COOKIE_DOMAIN="usercontent.localhost")
def test_csrf_cookie_domain_on_the_sandbox_is_refused():
    assert ids(run_checks()) == ["artifacts.E003"]


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.db")
def test_sessions_the_sandbox_cannot_look_up_are_refused():
    assert ids(run_checks()) == ["artifacts.E004"]


@override_settings(ARTIFACTS_SANDBOX_URL="http://localhost:9000")
def test_sandbox_on_the_app_host_is_refused_even_on_another_port():
    assert ids(run_checks()) == ["artifacts.E002"]


def test_allauth_redirects_only_to_the_app_host(rf):
    adapter = AccountAdapter(rf.get("/"))
    assert adapter.is_safe_url("/a/xyz/")
    assert adapter.is_safe_url("http://localhost:8000/a/xyz/")
    assert not adapter.is_safe_url("http://usercontent.localhost:8000/g/x/")
    assert not adapter.is_safe_url("https://evil.example/")
