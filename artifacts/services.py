"""Writes to artifacts: push (create / new version), metadata changes, delete.

Views, the API, the management commands and tasks all call these; each checks its own
permission, so no caller can forget to.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from orgs.audit import audit_record
from orgs.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, UnsupportedType
from orgs.models import Notification, Organization
from orgs.permissions import Can, membership_require, role_can

from . import storage
from .collections import artifact_collections_set
from .markdown_scan import markdown_warnings
from .models import Artifact, Blob, Format, PushReceipt, Share, Version, Visibility
from .render import RENDER_SYNC_LIMIT
from .rendered_pages import blob_render_now
from .sandbox import authz
from .scan import warnings_scan
from .search import search_index_later, search_unindex
from .selectors import ArtifactsOff
from .tasks import blob_compress, blob_render

logger = logging.getLogger(__name__)

TITLE_MAX = 200
IDEMPOTENCY_KEY_MAX = 200
MESSAGE_MAX = 500


def _clean_title(title: str | None, fallback: str) -> str:
    title = (title or "").strip() or fallback
    if len(title) > TITLE_MAX:
        raise Invalid(f"Title is longer than {TITLE_MAX} characters.", field="title")
    return title


def _clean_message(message: str | None) -> str:
    message = (message or "").strip()
    if len(message) > MESSAGE_MAX:
        raise Invalid(f"Message is longer than {MESSAGE_MAX} characters.", field="message")
    return message


def _clean_visibility(visibility: str | None) -> str:
    visibility = visibility or Visibility.PRIVATE
    if visibility not in Visibility.values:
        raise Invalid(
            f"Unknown visibility {visibility!r}; use one of {', '.join(Visibility.values)}.",
            field="visibility",
        )
    return visibility


def _store_upload(upload) -> list[str]:
    """Blob bytes (verified) and, for small Markdown, the rendered page. Returns warnings.

    Runs before the version row exists: a crash here leaves at most an orphan blob.
    """
    _blob_touch(upload.sha256, upload.size)
    storage.blob_store(sha256=upload.sha256, fileobj=upload)
    if upload.format == Format.MARKDOWN:
        if upload.size <= RENDER_SYNC_LIMIT:
            blob_render_now(upload.sha256)
        upload.seek(0)
        return markdown_warnings(iter(lambda: upload.read(storage.CHUNK), b""))
    upload.seek(0)
    return warnings_scan(iter(lambda: upload.read(storage.CHUNK), b""))


def _blob_touch(sha256: str, size: int) -> None:
    """Claim the blob for this push before its bytes are written or reused: the collector
    spares a blob touched within its lease (see artifacts.retention.enforce.blobs_collect). Own
    transaction, committed at once, so the collector sees it (or this waits for its commit).
    """
    with transaction.atomic():
        Blob.objects.bulk_create(
            [Blob(sha256=sha256, size=size, touched_at=timezone.now())],
            update_conflicts=True,
            unique_fields=["sha256"],
            update_fields=["touched_at"],
        )


def _version_create(*, artifact: Artifact, sha256: str, size: int, user, message: str) -> Version:
    """Inside a transaction holding the artifact's row lock: the next number, gap-free."""
    blob, _ = Blob.objects.get_or_create(sha256=sha256, defaults={"size": size})
    number = artifact.latest_version + 1
    version = Version.objects.create(
        artifact=artifact,
        number=number,
        blob=blob,
        size=size,
        created_by=user,
        message=message,
    )
    artifact.latest_version = number
    artifact.updated_at = version.created_at
    artifact.save(update_fields=["latest_version", "updated_at"])
    search_index_later(artifact.pk)  # its words and message, after the commit
    return version


def _render_later(artifact: Artifact, upload) -> None:
    """After the commit: big Markdown is rendered (then compressed); the rest compressed."""
    sha256, markdown = upload.sha256, artifact.format == Format.MARKDOWN
    if markdown and upload.size > RENDER_SYNC_LIMIT:
        transaction.on_commit(lambda: blob_render_request(sha256))
    else:
        transaction.on_commit(lambda: _compress_later(sha256, markdown))


def _compress_later(sha256: str, markdown: bool) -> None:
    try:
        blob_compress.delay(sha256, markdown=markdown)
    except Exception:  # a broker outage costs the variants, never the push
        logger.exception("could not queue the compression of blob %s", sha256)


def blob_render_request(sha256: str) -> None:
    """Queue the rendering of a big Markdown blob, once at a time. The push has committed
    by now: a broker outage must not turn it into an error, so it is logged, and the next
    viewer of the version (artifacts.views) asks again."""
    marker = f"render-queued:{sha256}"
    if not cache.add(marker, 1, timeout=300) and cache.get(marker) is not None:
        return  # queued a moment ago (a miss while Redis is down queues again: harmless)
    try:
        blob_render.delay(sha256)
    except Exception:
        cache.delete(marker)
        logger.exception("could not queue the rendering of blob %s", sha256)


@dataclass(frozen=True)
class PushResult:
    artifact: Artifact
    version: Version
    warnings: list[str]
    replayed: bool = False  # the first result of an earlier push with the same key


@dataclass(frozen=True)
class PushRequest:
    """What a push asks for, as its receipt records it: a retry with the same key must ask
    for exactly this again."""

    operation: str  # "create" or "version"
    target: str  # the artifact a version goes to; "" for a new artifact
    sha256: str
    fields: dict

    def matches(self, receipt: PushReceipt) -> bool:
        return (
            (receipt.operation, receipt.target, receipt.sha256)
            == (self.operation, self.target, self.sha256)
            # A receipt kept from before fields were recorded has none to compare.
            and (receipt.fields is None or receipt.fields == self.fields)
        )


class IdempotencyKeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"


def _clean_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not (1 <= len(key) <= IDEMPOTENCY_KEY_MAX) or not key.isprintable():
        raise Invalid(
            f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} printable characters.",
            field="Idempotency-Key",
        )
    return key


def _replay(user, organization: Organization, key: str | None, asked: PushRequest):
    if key is None:
        return None
    receipt = (
        PushReceipt.objects.select_related("version__artifact")
        .filter(user=user, organization=organization, key=key)
        .first()
    )
    if receipt is None:
        return None
    if not asked.matches(receipt):
        # SECURITY/CORRECTNESS: replaying would answer 201 for a push that stored nothing
        # (other bytes, another artifact): the new content would be dropped without a word.
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different push (other bytes, "
            "another artifact or other fields): send a new key for a new push."
        )
    return PushResult(receipt.version.artifact, receipt.version, receipt.warnings, replayed=True)


def _idempotent(user, organization: Organization, key, asked: PushRequest, push) -> PushResult:
    """Runs push() (which records its receipt in its transaction) unless the key has a
    receipt already; a concurrent twin loses on the unique constraint and replays."""
    key = _clean_key(key)
    if (replay := _replay(user, organization, key, asked)) is not None:
        return replay
    try:
        return push(key)
    except IntegrityError:
        if (replay := _replay(user, organization, key, asked)) is None:
            raise
        return replay


def _receipt(user, organization, key, asked: PushRequest, version, warnings) -> None:
    if key is not None:
        PushReceipt.objects.create(
            user=user,
            organization=organization,
            key=key,
            version=version,
            warnings=warnings,
            operation=asked.operation,
            target=asked.target,
            sha256=asked.sha256,
            fields=asked.fields,
        )


def artifact_create(
    *,
    user,
    organization: Organization,
    upload,
    title: str | None = None,
    visibility: str | None = None,
    message: str | None = None,
    idempotency_key: str | None = None,
) -> PushResult:
    """A new artifact with its version 1."""
    membership_require(user, organization, Can.CREATE)
    if not organization.artifacts_enabled:
        raise ArtifactsOff()
    asked = PushRequest(  # as sent: the org's defaults may change between two retries
        "create",
        "",
        upload.sha256,
        {"name": upload.name, "title": title, "visibility": visibility, "message": message},
    )
    title = _clean_title(title, fallback=upload.name)
    default_group = None
    if visibility is None and organization.sharing_enabled:
        visibility = organization.default_visibility
        default_group = organization.default_group
    visibility = _clean_visibility(visibility)
    if visibility == Visibility.ORG and not organization.sharing_enabled:
        raise Forbidden("Sharing is turned off for this organisation by its admins.")
    message = _clean_message(message)

    def push(key):
        warnings = _store_upload(upload)
        with transaction.atomic():
            artifact = Artifact.objects.create(
                organization=organization,
                author=user,
                title=title,
                format=upload.format,
                visibility=visibility,
            )
            version = _version_create(
                artifact=artifact,
                sha256=upload.sha256,
                size=upload.size,
                user=user,
                message=message,
            )
            if default_group is not None:
                Share.objects.create(artifact=artifact, group=default_group)
                audit_record(
                    organization=organization,
                    actor=user,
                    action="artifact.share",
                    target=artifact.id,
                    title=title,
                    group=default_group.slug,
                    reason="default audience",
                )
            _receipt(user, organization, key, asked, version, warnings)
            _render_later(artifact, upload)
        return PushResult(artifact, version, warnings)

    return _idempotent(user, organization, idempotency_key, asked, push)


def version_publish(
    *,
    user,
    artifact: Artifact,
    upload,
    message: str | None = None,
    base_version: int | None = None,
    idempotency_key: str | None = None,
) -> PushResult:
    """The next version of an artifact the user may see."""
    _require_author(user, artifact)
    if upload.format != artifact.format:
        raise UnsupportedType(
            f"This artifact is {artifact.get_format_display()}; push a file of the same type."
        )
    message = _clean_message(message)
    asked = PushRequest(
        "version",
        artifact.pk,
        upload.sha256,
        {"message": message, "base_version": base_version},
    )
    return _idempotent(
        user,
        artifact.organization,
        idempotency_key,
        asked,
        lambda key: _version_push(user, artifact, upload, message, base_version, key, asked),
    )


def _version_push(user, artifact, upload, message, base_version, key, asked) -> PushResult:
    warnings = _store_upload(upload)
    with transaction.atomic():
        locked = _lock(artifact)
        # A twin with the same key may have committed while this waited for the lock: its
        # result, not a 409 for the version it just made (base_version) nor a second one.
        if (replay := _replay(user, artifact.organization, key, asked)) is not None:
            return replay
        if base_version is not None and base_version != locked.latest_version:
            raise Conflict(
                f"Version {locked.latest_version} is live, not {base_version}: "
                "pull it, or push again without base_version to overwrite.",
                current_version=locked.latest_version,
            )
        version = _version_create(
            artifact=locked, sha256=upload.sha256, size=upload.size, user=user, message=message
        )
        _receipt(user, artifact.organization, key, asked, version, warnings)
        _render_later(locked, upload)
    return PushResult(locked, version, warnings)


def _lock(artifact: Artifact) -> Artifact:
    # SECURITY/CORRECTNESS: the row lock serialises concurrent pushes to one artifact,
    # so numbers have no gap and no duplicate (the unique constraint backs it up).
    locked = (
        Artifact.objects.select_for_update().filter(pk=artifact.pk, trashed_at__isnull=True).first()
    )
    if locked is None:  # deleted meanwhile
        raise NotFound()
    return locked


def version_restore(*, user, artifact: Artifact, number: int) -> Version:
    """A new version whose bytes are those of version `number` (versions never change)."""
    _require_author(user, artifact)
    with transaction.atomic():
        locked = _lock(artifact)  # first: retention may be pruning the source meanwhile
        source = locked.versions.filter(number=number).first()
        if source is None:
            raise NotFound(f"Version {number} does not exist.")
        version = _version_create(
            artifact=locked,
            sha256=source.blob_id,
            size=source.size,
            user=user,
            message=f"Restored from v{number}",
        )
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.restore",
            target=artifact.id,
            title=artifact.title,
            restored=number,
            version=version.number,
        )
    return version


def _require_author(user, artifact: Artifact):
    """Only the author changes an artifact; the caller has already checked visibility."""
    membership = membership_require(user, artifact.organization, Can.CREATE)
    if artifact.author_id != user.pk:
        raise Forbidden("Only the author can change this artifact.")
    return membership


LATEST = 0  # viewer_version value meaning "always the latest"


def artifact_update(
    *,
    user,
    artifact: Artifact,
    title: str | None = None,
    visibility: str | None = None,
    viewer_version: int | None = None,
    members: list[str] | None = None,
    groups: list[str] | None = None,
) -> Artifact:
    """Metadata only; a version's bytes never change. `viewer_version` is the version the
    stable URL shows: LATEST (0) to follow new pushes, or a number to pin one."""
    _require_author(user, artifact)
    with transaction.atomic():
        changed = []
        if viewer_version is not None:
            if (
                viewer_version != LATEST
                and not artifact.versions.filter(number=viewer_version).exists()
            ):
                raise Invalid(f"Version {viewer_version} does not exist.", field="viewer_version")
            artifact.viewer_version = viewer_version or None
            changed.append("viewer_version")
        if title is not None:
            artifact.title = _clean_title(title, fallback=artifact.title)
            changed.append("title")
        if visibility is not None:
            visibility = _clean_visibility(visibility)
            if (
                visibility == Visibility.ORG
                and visibility != artifact.visibility
                and not artifact.organization.sharing_enabled
            ):
                raise Forbidden("Sharing is turned off for this organisation by its admins.")
            if visibility != artifact.visibility:
                audit_record(
                    organization=artifact.organization,
                    actor=user,
                    action="artifact.share" if visibility == Visibility.ORG else "artifact.unshare",
                    target=artifact.id,
                    title=artifact.title,
                    visibility=visibility,
                )
            artifact.visibility = visibility
            changed.append("visibility")
        if changed:
            artifact.save(update_fields=changed)
            if "title" in changed or "viewer_version" in changed:
                search_index_later(artifact.pk)
        if members is not None or groups is not None:  # all or nothing, with the above
            artifact_share_set(user=user, artifact=artifact, members=members, groups=groups)
    return artifact


def _require_author_or_admin(user, artifact: Artifact, doing: str):
    membership = membership_require(user, artifact.organization, Can.VIEW_SHARED)
    if artifact.author_id != user.pk and not role_can(membership.role, Can.DELETE_ANY):
        raise Forbidden(f"Only the author or an org admin can {doing} this artifact.")
    return membership


def artifact_delete(*, user, artifact: Artifact) -> None:
    """The author, or an admin of the org. The artifact goes to the org's trash, seen by
    nobody, from which an admin can restore it for the grace period; retention then purges
    its versions, and the blob collector its bytes."""
    _require_author_or_admin(user, artifact, "delete")
    with transaction.atomic():
        trashed = Artifact.objects.filter(pk=artifact.pk, trashed_at__isnull=True).update(
            trashed_at=timezone.now(), trashed_by=user
        )
        if not trashed:  # deleted meanwhile (a double click, a retention run)
            raise NotFound()
        authz.bump("artifact", artifact.pk)  # a bulk update sends no signal
        search_unindex(artifact.pk)
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.delete",
            target=artifact.id,
            title=artifact.title,
            versions=artifact.latest_version,
            grace_days=artifact.organization.retention_grace_days,
        )


def artifact_trash_restore(*, user, organization: Organization, artifact_id: str) -> Artifact:
    """An admin brings an artifact back from the trash as it was (versions, shares, pin).
    Its age under the retention policy counts from now, so it does not expire again on
    the next run."""
    membership_require(user, organization, Can.DELETE_ANY)
    with transaction.atomic():
        artifact = (
            Artifact.objects.select_for_update()
            .filter(organization=organization, pk=artifact_id, trashed_at__isnull=False)
            .first()
        )
        if artifact is None:
            raise NotFound("No such artifact in the trash.")
        audit_record(
            organization=organization,
            actor=user,
            action="artifact.trash_restore",
            target=artifact.id,
            title=artifact.title,
            trashed_at=artifact.trashed_at.isoformat(),
        )
        artifact.trashed_at = artifact.trashed_by = artifact.expiry_noticed_for = None
        artifact.restored_at = timezone.now()
        artifact.save(
            update_fields=["trashed_at", "trashed_by", "expiry_noticed_for", "restored_at"]
        )
        search_index_later(artifact.pk)
    return artifact


def can_pin(user, artifact: Artifact) -> bool:
    try:
        _require_author_or_admin(user, artifact, "pin")
    except Forbidden:
        return False
    return True


def artifact_pin(*, user, artifact: Artifact, pinned: bool) -> Artifact:
    """Pinned: exempt from the org's retention policy. The author or an admin."""
    _require_author_or_admin(user, artifact, "pin")
    with transaction.atomic():
        if artifact.pinned != pinned:
            audit_record(
                organization=artifact.organization,
                actor=user,
                action="artifact.pin" if pinned else "artifact.unpin",
                target=artifact.id,
                title=artifact.title,
            )
            artifact.pinned = pinned
            artifact.save(update_fields=["pinned"])
    return artifact


def artifact_change(
    *,
    user,
    artifact: Artifact,
    pinned: bool | None = None,
    collections: list[str] | None = None,
    **metadata,
) -> Artifact:
    """The API's PATCH: the pin and the collections (the author or an admin) and the
    metadata (the author's alone: artifact_update's fields), all or nothing."""
    with transaction.atomic():
        if pinned is not None:
            artifact = artifact_pin(user=user, artifact=artifact, pinned=pinned)
        if collections is not None:
            artifact_collections_set(user=user, artifact=artifact, names=collections)
        if metadata:
            artifact = artifact_update(user=user, artifact=artifact, **metadata)
    return artifact


ACCESS_REQUEST_EVERY = timedelta(hours=1)  # one notice per requester and artifact an hour


def access_request(*, user, artifact: Artifact) -> bool:
    """Tell the author (in the app and by email) that a member asks to see the artifact.
    Returns False when a request was already sent within the hour (nothing sent again)."""
    author = artifact.author
    if author is None or not artifact.organization.memberships.filter(user=author).exists():
        raise NotFound("The author is no longer in the organisation; ask an admin.")
    url = f"/a/{artifact.pk}/"
    with transaction.atomic():
        recent = Notification.objects.filter(
            user=author,
            kind="access_request",
            url=url,
            text__startswith=f"{user.email} asks",
            created_at__gte=timezone.now() - ACCESS_REQUEST_EVERY,
        ).exists()
        if recent:
            return False
        text = f"{user.email} asks for access to “{artifact.title}”."
        Notification.objects.create(
            user=author,
            organization=artifact.organization,
            kind="access_request",
            text=text,
            url=url,
        )
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.access_request",
            target=artifact.id,
        )
        # robust: a mail server outage is logged; the in-app notice is already committed.
        transaction.on_commit(
            lambda: send_mail(
                subject=f"Access request: {artifact.title}",
                message=f"{text}\n\nShare it from {settings.ARTIFACTS_APP_URL}{url} if you agree.",
                from_email=None,
                recipient_list=[author.email],
            ),
            robust=True,
        )
    return True


def artifact_share_set(
    *, user, artifact: Artifact, members: list[str] | None = None, groups: list[str] | None = None
) -> Artifact:
    """Replace the list of members (emails) and/or groups (slugs) the artifact is shared
    with. Only current members and the org's own groups; audited per addition/removal."""
    _require_author(user, artifact)
    org = artifact.organization
    with transaction.atomic():
        if members is not None:
            wanted = {e.strip().lower() for e in members if e.strip()}
            found = {
                m.user.email.lower(): m.user
                for m in org.memberships.select_related("user").filter(user__email__in=wanted)
            }
            if missing := sorted(wanted - set(found)):
                raise Invalid(f"Not members of {org.slug}: {', '.join(missing)}.", field="members")
            current = {
                s.user.email.lower(): s
                for s in artifact.shares.filter(user__isnull=False).select_related("user")
            }
            _share_apply(
                user,
                artifact,
                current,
                wanted,
                lambda key: Share(artifact=artifact, user=found[key]),
                "member",
            )
        if groups is not None:
            wanted = {g.strip() for g in groups if g.strip()}
            found = {g.slug: g for g in org.groups.filter(slug__in=wanted)}
            if missing := sorted(wanted - set(found)):
                raise Invalid(
                    f"No such groups in {org.slug}: {', '.join(missing)}.", field="groups"
                )
            current = {
                s.group.slug: s
                for s in artifact.shares.filter(group__isnull=False).select_related("group")
            }
            _share_apply(
                user,
                artifact,
                current,
                wanted,
                lambda key: Share(artifact=artifact, group=found[key]),
                "group",
            )
    return artifact


def _share_apply(user, artifact, current: dict, wanted: set, make, kind: str) -> None:
    added = wanted - set(current)
    if added and not artifact.organization.sharing_enabled:
        raise Forbidden("Sharing is turned off for this organisation by its admins.")
    for key in sorted(added):
        make(key).save()
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.share",
            target=artifact.id,
            title=artifact.title,
            **{kind: key},
        )
    for key in sorted(set(current) - wanted):
        current[key].delete()
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.unshare",
            target=artifact.id,
            title=artifact.title,
            **{kind: key},
        )


def shares_drop_for_removed_member(sender, *, organization, user, actor, **kwargs) -> None:
    """A removed member's personal shares in that org go with the membership (audited)."""
    shares = Share.objects.filter(user=user, artifact__organization=organization)
    for share in shares.select_related("artifact"):
        audit_record(
            organization=organization,
            actor=actor,
            action="artifact.unshare",
            target=share.artifact_id,
            title=share.artifact.title,
            member=user.email,
            reason="member removed",
        )
    shares.delete()
