"""A member opening a link not shared with them can ask the author (told in the app and by
email); an outsider gets the plain 404."""

from django.core import mail

from orgs.models import AuditEvent, Notification


def test_member_without_access_gets_the_request_page_and_the_author_is_told(personas):
    artifact_id = personas["member"].push(title="Secret plan").json()["id"]
    other = personas["other_member"].client
    page = other.get(f"/a/{artifact_id}/")
    assert page.status_code == 403
    assert b"Ask the author for access" in page.content
    assert b"Secret plan" not in page.content  # the title stays private
    assert other.post(f"/a/{artifact_id}/request-access").status_code == 302
    notice = Notification.objects.get(user=personas["member"].user)
    assert notice.text == "other@example.com asks for access to “Secret plan”."
    assert len(mail.outbox) == 0  # sent after commit; the test transaction never commits
    home = personas["member"].client.get("/").content.decode()
    assert "other@example.com asks for access" in home
    assert (
        AuditEvent.objects.filter(action="artifact.access_request", target=artifact_id).count() == 1
    )


def test_the_email_goes_to_the_author_once_an_hour(personas, django_capture_on_commit_callbacks):
    artifact_id = personas["member"].push(title="Plan").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        personas["viewer"].client.post(f"/a/{artifact_id}/request-access")
        personas["viewer"].client.post(f"/a/{artifact_id}/request-access")
    assert [m.to for m in mail.outbox] == [["member@example.com"]]
    assert "viewer@example.com asks for access" in mail.outbox[0].body
    assert Notification.objects.count() == 1


def test_outsiders_cannot_see_or_request(personas):
    artifact_id = personas["member"].push().json()["id"]
    outsider = personas["outsider"].client
    assert outsider.get(f"/a/{artifact_id}/").status_code == 404
    assert outsider.post(f"/a/{artifact_id}/request-access").status_code == 404
    assert Notification.objects.count() == 0


def test_dismissing_a_notice(personas):
    artifact_id = personas["member"].push().json()["id"]
    personas["viewer"].client.post(f"/a/{artifact_id}/request-access")
    notice = Notification.objects.get()
    assert personas["viewer"].client.post(f"/notices/{notice.pk}/dismiss").status_code == 302
    assert Notification.objects.get().read_at is None  # not theirs: untouched
    personas["member"].client.post(f"/notices/{notice.pk}/dismiss")
    assert Notification.objects.get().read_at is not None


def test_notices_of_an_org_the_author_cannot_reach_now_stay_hidden(personas, org):
    from orgs.services import member_remove

    artifact_id = personas["member"].push(title="Secret plan").json()["id"]
    personas["other_member"].client.post(f"/a/{artifact_id}/request-access")
    author = personas["member"].client
    assert "asks for access to “Secret plan”" in author.get("/").content.decode()
    # The org now requires a second factor this sign-in did not use.
    org.require_mfa = True
    org.save()
    assert "Secret plan" not in author.get("/").content.decode()
    org.require_mfa = False
    org.save()
    assert "Secret plan" in author.get("/").content.decode()
    member_remove(organization=org, email="member@example.com", actor=None)
    assert "Secret plan" not in author.get("/").content.decode()
