"""Retention policy arithmetic, the trash, notices and the blob collector (in-process).

Time is moved with `as_of` (the command's --as-of), never by sleeping: artifacts are
pushed for real, then their last-version time is set back.
"""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from artifacts import storage
from artifacts.models import Artifact, AuthzGeneration, Blob, PushReceipt, Share, Version
from artifacts.retention.enforce import BLOB_LEASE, RECEIPT_TTL, blobs_collect, retention_enforce
from artifacts.retention.policy import plan_counts, retention_plan
from artifacts.services import artifact_trash_restore
from orgs.errors import Forbidden, Invalid, NotFound
from orgs.models import AuditEvent, Notification
from orgs.services import org_settings_update
from tests.helpers import PAGE

NOW = timezone.now().replace(microsecond=0)
DAY = timedelta(days=1)


@pytest.fixture
def policy(personas, org):
    def set_policy(**changes):
        org_settings_update(organization=org, actor=personas["owner"].user, **changes)
        org.refresh_from_db()
        return org

    return set_policy


def _push(persona, *, age: timedelta, data: bytes = PAGE, **fields) -> Artifact:
    body = persona.push(data=data, **fields).json()
    Artifact.objects.filter(pk=body["id"]).update(updated_at=NOW - age)
    return Artifact.objects.get(pk=body["id"])


def _events(action: str) -> list[str]:
    return sorted(AuditEvent.objects.filter(action=action).values_list("target", flat=True))


def _trashed(artifact: Artifact) -> bool:
    return Artifact.objects.get(pk=artifact.pk).trashed_at is not None


def test_unshared_artifacts_expire_exactly_n_days_after_their_last_version(member, policy):
    policy(retention_unshared_days=30)
    due = _push(member, age=30 * DAY)
    young = _push(member, age=30 * DAY - timedelta(seconds=1), data=PAGE + b"1")
    report = retention_enforce(as_of=NOW)
    assert (report.expired, _trashed(due), _trashed(young)) == (1, True, False)
    assert _events("artifact.expire") == [due.pk]
    # One second later the other one is due too.
    retention_enforce(as_of=NOW + timedelta(seconds=1))
    assert _trashed(young)


def test_shared_artifacts_follow_the_shared_rule_whoever_they_are_shared_with(
    member, personas, policy
):
    policy(retention_unshared_days=10, retention_shared_days=100)
    with_org = _push(member, age=50 * DAY, visibility="org")
    with_person = _push(member, age=50 * DAY, data=PAGE + b"p")
    Share.objects.create(artifact=with_person, user=personas["other_member"].user)
    unshared = _push(member, age=50 * DAY, data=PAGE + b"u")
    retention_enforce(as_of=NOW)
    assert (_trashed(with_org), _trashed(with_person), _trashed(unshared)) == (False, False, True)
    retention_enforce(as_of=NOW + 50 * DAY)
    assert _trashed(with_org) and _trashed(with_person)


def test_an_empty_rule_keeps_forever(member, policy):
    policy(retention_shared_days=1)  # unshared: empty
    kept = _push(member, age=10_000 * DAY)
    assert retention_enforce(as_of=NOW).expired == 0
    assert not _trashed(kept)


def test_pinned_artifacts_are_exempt_from_expiry_and_pruning(member, policy):
    policy(retention_unshared_days=1, retention_keep_versions=1)
    pinned = _push(member, age=5 * DAY)
    member.push(to=pinned.pk, data=PAGE + b"2")
    Artifact.objects.filter(pk=pinned.pk).update(updated_at=NOW - 5 * DAY)
    response = member.api(
        "patch", f"/artifacts/{pinned.pk}", data={"pinned": True}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["pinned"] is True
    report = retention_enforce(as_of=NOW)
    assert (report.expired, report.pruned) == (0, 0)
    assert pinned.versions.count() == 2
    assert _events("artifact.pin") == [pinned.pk]


def test_keep_k_versions_prunes_the_oldest_never_the_latest_nor_the_one_shown(member, policy):
    artifact = _push(member, age=timedelta(0))
    for n in range(2, 7):
        member.push(to=artifact.pk, data=PAGE + str(n).encode())
    pin = member.api(
        "patch",
        f"/artifacts/{artifact.pk}",
        data={"viewer_version": 2},
        content_type="application/json",
    )
    assert pin.status_code == 200
    policy(retention_keep_versions=3)
    plan = retention_plan(artifact.organization, NOW)
    assert sorted(plan.prune.values_list("number", flat=True)) == [1, 3]
    assert retention_enforce(as_of=NOW).pruned == 2
    assert list(artifact.versions.values_list("number", flat=True)) == [2, 4, 5, 6]
    event = AuditEvent.objects.get(action="artifact.versions_prune")
    assert (event.target, event.details["versions"], event.actor) == (artifact.pk, [1, 3], None)
    # The stable URL still shows the pinned v2; the next push numbers on from 6.
    assert member.client.get(f"/a/{artifact.pk}/").status_code == 200
    assert member.push(to=artifact.pk, data=PAGE + b"7").json()["version"] == 7
    policy(retention_keep_versions=1)
    retention_enforce(as_of=NOW)
    assert list(artifact.versions.values_list("number", flat=True)) == [2, 7]


def test_a_second_run_does_nothing_and_audits_nothing(member, policy):
    policy(retention_unshared_days=1, retention_keep_versions=1)
    artifact = _push(member, age=DAY)
    _push(member, age=timedelta(0), data=PAGE + b"x")
    member.push(to=artifact.pk, data=PAGE + b"2")
    retention_enforce(as_of=NOW + 2 * DAY)
    events = AuditEvent.objects.count()
    again = retention_enforce(as_of=NOW + 2 * DAY)
    assert (again.expired, again.pruned, again.purged) == (0, 0, 0)
    assert AuditEvent.objects.count() == events


def test_expired_artifacts_wait_in_the_trash_then_are_purged_with_their_bytes(
    member, personas, policy
):
    policy(retention_unshared_days=10, retention_grace_days=30)
    artifact = _push(member, age=10 * DAY)
    sha = artifact.versions.get().blob_id
    retention_enforce(as_of=NOW)
    # In the trash: gone for everyone, the author included.
    assert member.api("get", f"/artifacts/{artifact.pk}").status_code == 404
    assert member.client.get(f"/a/{artifact.pk}/").status_code == 404
    assert personas["admin"].client.get(f"/a/{artifact.pk}/").status_code == 404
    assert artifact.pk not in [a["id"] for a in member.api("get", "/artifacts").json()["items"]]
    # Not yet purged at the end of day 29 of the grace period.
    assert retention_enforce(as_of=NOW + 30 * DAY - timedelta(seconds=1)).purged == 0
    assert retention_enforce(as_of=NOW + 30 * DAY).purged == 1
    assert not Artifact.objects.filter(pk=artifact.pk).exists()
    assert not Version.objects.filter(blob_id=sha).exists()
    assert _events("artifact.purge") == [artifact.pk]
    # Its sandbox generation goes too (trashing it had bumped it), others' stay.
    assert not AuthzGeneration.objects.filter(key=f"artifact:{artifact.pk}").exists()
    assert AuthzGeneration.objects.filter(key__startswith="org:").exists()
    # The blob goes once its lease is over (real clock: a push may be reusing it right now).
    assert blobs_collect() == 0
    Blob.objects.filter(pk=sha).update(touched_at=timezone.now() - BLOB_LEASE)
    assert blobs_collect() == 1
    assert not Blob.objects.filter(pk=sha).exists()
    assert not storage.blob_storage().exists(storage.blob_name(sha))


def test_an_admin_restores_from_the_trash_and_the_artifact_does_not_expire_again(
    member, personas, policy, org
):
    policy(retention_unshared_days=10)
    artifact = _push(member, age=10 * DAY)
    retention_enforce(as_of=NOW)
    with pytest.raises(Forbidden):
        artifact_trash_restore(user=member.user, organization=org, artifact_id=artifact.pk)
    restored = artifact_trash_restore(
        user=personas["admin"].user, organization=org, artifact_id=artifact.pk
    )
    assert restored.trashed_at is None
    source = member.api("get", f"/artifacts/{artifact.pk}/versions/1/source")
    assert source.status_code == 200 and b"".join(source.streaming_content) == PAGE
    assert retention_enforce(as_of=timezone.now()).expired == 0
    assert _events("artifact.trash_restore") == [artifact.pk]
    with pytest.raises(NotFound):  # not in the trash any more
        artifact_trash_restore(
            user=personas["admin"].user, organization=org, artifact_id=artifact.pk
        )


def test_a_deleted_artifact_is_restorable_until_the_grace_period_ends(member, personas, policy):
    policy(retention_grace_days=7)
    artifact = _push(member, age=timedelta(0))
    assert member.api("delete", f"/artifacts/{artifact.pk}").status_code == 204
    trashed_at = Artifact.objects.get(pk=artifact.pk).trashed_at
    assert retention_enforce(as_of=trashed_at + 7 * DAY - timedelta(seconds=1)).purged == 0
    assert retention_enforce(as_of=trashed_at + 7 * DAY).purged == 1


def test_authors_are_told_in_the_app_and_by_email_once_before_expiry(
    member, personas, policy, django_capture_on_commit_callbacks
):
    policy(retention_unshared_days=30, retention_notice_days=7)
    soon = _push(member, age=23 * DAY, title="Soon gone")
    _push(member, age=22 * DAY, data=PAGE + b"later", title="Later")
    with django_capture_on_commit_callbacks(execute=True):  # the email task is sent on commit
        report = retention_enforce(as_of=NOW)
    assert (report.notified, report.expired) == (1, 0)
    notice = Notification.objects.get(user=member.user, kind="expiry")
    assert "Soon gone" in notice.text and (NOW + 7 * DAY).strftime("%Y-%m-%d") in notice.text
    notice.refresh_from_db()
    assert notice.url == f"/a/{soon.pk}/" and notice.emailed_at is not None
    assert [m.to for m in mail.outbox] == [[member.user.email]]
    assert "Soon gone" in mail.outbox[0].body
    # Told once: the next run says nothing new.
    assert retention_enforce(as_of=NOW + DAY).notified == 1  # the other one, now in range
    assert Notification.objects.filter(kind="expiry", text__contains="Soon gone").count() == 1
    # A new version moves the expiry: the author will be told again when it nears.
    member.push(to=soon.pk, data=PAGE + b"v2")
    assert retention_enforce(as_of=NOW + 22 * DAY).notified == 0
    assert retention_enforce(as_of=NOW + 24 * DAY).notified == 1
    # The notice shows on the home page.
    assert "Soon gone" in member.client.get("/").content.decode()


def test_dry_run_and_preview_count_exactly_what_a_run_does(member, policy, org, capsys):
    policy(retention_unshared_days=5, retention_keep_versions=2)
    for n in range(3):
        _push(member, age=(4 + n) * DAY, data=PAGE + str(n).encode())
    keep = _push(member, age=timedelta(0), data=PAGE + b"k")
    for n in range(3):
        member.push(to=keep.pk, data=PAGE + b"k" + str(n).encode())
    counts = plan_counts(retention_plan(org, NOW))
    call_command("enforce_retention", "--dry-run", f"--as-of={NOW.isoformat()}")
    assert "expire 2, prune 2 versions" in capsys.readouterr().out
    assert Artifact.objects.filter(trashed_at__isnull=False).count() == 0
    report = retention_enforce(as_of=NOW)
    assert (report.expired, report.pruned) == (counts.expired, counts.pruned) == (2, 2)


def test_the_command_reports_and_refuses_bad_input(member, policy, capsys):
    policy(retention_unshared_days=1)
    _push(member, age=2 * DAY)
    call_command("enforce_retention", "--org=acme", "--batch-size=1")
    assert "expired 1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No organisation"):
        call_command("enforce_retention", "--org=nope")
    with pytest.raises(CommandError, match="ISO-8601"):
        call_command("enforce_retention", "--as-of=yesterday")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("enforce_retention", "--batch-size=0")


def test_policy_values_are_validated_and_audited(personas, org, policy):
    with pytest.raises(Invalid, match="retention_keep_versions"):
        policy(retention_keep_versions=0)
    with pytest.raises(Invalid, match="retention_unshared_days"):
        policy(retention_unshared_days="soon")
    with pytest.raises(Invalid, match="retention_grace_days"):
        policy(retention_grace_days="")  # has no "forever"
    policy(retention_unshared_days="30")
    assert org.retention_unshared_days == 30
    policy(retention_unshared_days="")  # empty: keep forever
    assert org.retention_unshared_days is None
    changes = AuditEvent.objects.filter(action="org.setting_change").values_list(
        "target", "details"
    )
    assert list(changes) == [
        ("retention_unshared_days", {"old": 30, "new": None}),
        ("retention_unshared_days", {"old": None, "new": 30}),
    ]
    with pytest.raises(Forbidden):
        org_settings_update(
            organization=org, actor=personas["member"].user, retention_unshared_days=1
        )


def test_the_collector_spares_referenced_and_recently_touched_blobs(member):
    kept = _push(member, age=timedelta(0)).versions.get().blob_id
    orphan_old, orphan_new = "a" * 64, "b" * 64
    for sha in (orphan_old, orphan_new):
        storage.blob_storage().save(storage.blob_name(sha), __import__("io").BytesIO(b"x"))
    Blob.objects.create(sha256=orphan_old, size=1, touched_at=timezone.now() - 2 * BLOB_LEASE)
    Blob.objects.create(sha256=orphan_new, size=1)
    Blob.objects.filter(pk=kept).update(touched_at=timezone.now() - 2 * BLOB_LEASE)
    assert blobs_collect() == 1
    assert set(Blob.objects.values_list("pk", flat=True)) == {kept, orphan_new}
    assert storage.blob_storage().exists(storage.blob_name(kept))
    assert not storage.blob_storage().exists(storage.blob_name(orphan_old))


def test_old_idempotency_receipts_are_pruned(member):
    from tests.artifacts.test_idempotency import push

    push(member, key="k1")
    PushReceipt.objects.update(created_at=timezone.now() - RECEIPT_TTL - DAY)
    assert retention_enforce().receipts == 1
    assert PushReceipt.objects.count() == 0
