"""Audit exports as CSV never hand a spreadsheet a formula (CSV injection): any cell that
would start with =, +, -, @, a tab or a carriage return starts with ' instead."""

import csv
import io

from orgs.audit import csv_cell
from orgs.models import AuditEvent

EVIL = "=cmd|'/Ccalc'!A0@acme.test"


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_an_invitation_to_a_formula_address_is_exported_as_text(personas, org):
    admin = personas["admin"]
    response = admin.api(
        "post",
        "/org/invitations",
        data={"email": EVIL, "role": "member"},
        content_type="application/json",
    )
    assert response.status_code == 201  # a valid address; the export is what must be safe
    AuditEvent.objects.create(
        organization=org,
        actor=admin.user,
        actor_kind="user",
        actor_email="@admin@example.com",
        action="+sum",
        target="-2+3",
        details={"k": "@x"},
    )
    for rows in (
        _rows(admin.api("get", "/org/audit?format=csv")),
        _rows(admin.client.get("/org/acme/admin/audit/?format=csv")),
    ):
        cells = [cell for row in rows[1:] for cell in row]
        assert f"'{EVIL.lower()}" in cells  # the invitation's target
        assert "'+sum" in cells and "'-2+3" in cells and "'@admin@example.com" in cells
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_every_formula_start_is_neutralised_and_nothing_else_is():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(start + "1") == "'" + start + "1"
    for plain in ("1", "alice@example.com", '{"a": 1}', "", "2026-12-02T10:00:00+00:00"):
        assert csv_cell(plain) == plain
    assert csv_cell(42) == "42"
