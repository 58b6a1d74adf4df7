"""Artifact, its immutable numbered Versions, and the content-addressed Blobs they point to."""

import secrets

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from orgs.models import Group, Organization


def new_public_id() -> str:
    # SECURITY: 128 random bits; URLs never carry a sequential id. Not starting with "-",
    # which command lines would read as an option (a redraw costs a fraction of a bit).
    while (candidate := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return candidate


class Format(models.TextChoices):
    HTML = "html", "HTML"
    MARKDOWN = "markdown", "Markdown"


class Visibility(models.TextChoices):
    PRIVATE = "private", "Only me"
    ORG = "org", "Whole organisation"


class Blob(models.Model):
    """Bytes stored once per sha256, however many versions point to them."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set by every push before it writes or reuses the bytes: the garbage collector leaves
    # alone a blob touched within BLOB_LEASE, so it never races a push
    # (artifacts.retention.enforce).
    touched_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.sha256


class Artifact(models.Model):
    id = models.CharField(primary_key=True, max_length=32, default=new_public_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="artifacts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="artifacts"
    )
    title = models.CharField(max_length=200)
    format = models.CharField(max_length=16, choices=Format.choices)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    latest_version = models.PositiveIntegerField(default=0)
    # The version the stable URL shows; None follows the latest push.
    viewer_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now_add=True, db_index=True)  # time of the last version
    # Retention (artifacts.retention): a pinned artifact never expires; an artifact restored
    # from the trash counts its age from then; a deleted one waits in the trash (trashed_at)
    # for the org's grace period, invisible to all, before its bytes are purged.
    pinned = models.BooleanField(default=False)
    restored_at = models.DateTimeField(null=True, blank=True)
    trashed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    trashed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The expiry the author was last told about, so each expiry is announced once.
    expiry_noticed_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "visibility"]),
            models.Index(fields=["organization", "trashed_at", "updated_at"]),
            # The lists' other orders (artifacts.selectors.ORDERS), so that a page of them
            # is read from an index, not sorted from every row the reader may see.
            models.Index(Lower("title"), "id", name="artifact_title_order"),
            models.Index(fields=["created_at", "id"], name="artifact_created_order"),
        ]

    def __str__(self):
        return self.title

    @property
    def shown_version(self) -> int:
        return self.viewer_version or self.latest_version

    @property
    def scripts_allowed(self) -> bool:
        """Markdown never runs script; HTML does unless the org turned scripts off."""
        return self.format == Format.HTML and self.organization.scripts_allowed


class Version(models.Model):
    """Immutable: never updated after creation; no API edits one."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="versions")
    size = models.BigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["artifact", "number"], name="one_version_number"),
        ]

    def __str__(self):
        return f"{self.artifact_id} v{self.number}"

    @property
    def sha256(self) -> str:
        return self.blob_id


class PushReceipt(models.Model):
    """The first result of a push sent with an Idempotency-Key: a retry with the same key
    (same user, same org) gets this instead of making a second version, if it asks for
    the same push (artifacts.services.PushRequest); anything else with that key is refused."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    warnings = models.JSONField(default=list)
    # What the push asked for. `fields` is null on receipts kept from before it was
    # recorded: their operation, target and bytes are still compared.
    operation = models.CharField(
        max_length=8, choices=[("create", "create"), ("version", "version")]
    )
    target = models.CharField(max_length=32, blank=True)  # the artifact of a "version" push
    sha256 = models.CharField(max_length=64)
    fields = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization", "key"], name="one_push_per_key"
            ),
        ]

    def __str__(self):
        return self.key


class Collection(models.Model):
    """A named set of an org's artifacts (an artifact may be in any number). Changed only
    through artifacts.collections (audited); its page shows each viewer what they may see
    of it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="collections"
    )
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    artifacts = models.ManyToManyField(Artifact, related_name="collections", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="one_collection_slug"),
        ]

    def __str__(self):
        return self.name


class SearchText(models.Model):
    """What search matches of an artifact: its title, its versions' messages and the text
    of the version its link shows (artifacts.search writes it). On PostgreSQL `document`
    holds their tsvector (GIN-indexed); on SQLite an FTS5 table keyed by this row's id does
    (both made by migration 0013)."""

    artifact = models.OneToOneField(Artifact, on_delete=models.CASCADE, related_name="searchtext")
    title = models.CharField(max_length=200)
    messages = models.TextField(blank=True)
    body = models.TextField(blank=True)
    document = SearchVectorField(null=True)
    indexed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"search text of {self.artifact_id}"


class View(models.Model):
    """A member opened a version of the artifact in the viewer: one row per member, version
    and half hour (artifacts.views_record). They go with the artifact, and after the org's
    retention_view_days."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="views")
    number = models.PositiveIntegerField()  # the version shown
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    viewed_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["artifact", "-viewed_at"]),  # who opened it, newest first
            # The counts (artifacts.readers.views_summary), read from the index alone.
            models.Index(fields=["artifact", "number", "user", "viewed_at"], name="view_counts"),
        ]

    def __str__(self):
        return f"{self.user} opened {self.artifact_id} v{self.number}"


class Share(models.Model):
    """The artifact is shared with one member or one group (exactly one of the two)."""

    artifact = models.ForeignKey(Artifact, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="share_user_xor_group",
            ),
            models.UniqueConstraint(fields=["artifact", "user"], name="one_share_per_user"),
            models.UniqueConstraint(fields=["artifact", "group"], name="one_share_per_group"),
        ]

    def __str__(self):
        return f"{self.artifact_id} with {self.user_id or self.group_id}"


class AuthzGeneration(models.Model):
    """A counter per user, org and artifact, bumped by every change that can revoke access
    to an artifact (artifacts.sandbox.authz): cached sandbox decisions are keyed by it. A table, not
    a cache entry, so that no eviction can ever bring an old counter back."""

    key = models.CharField(max_length=80, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.key}={self.value}"


class SandboxGrant(models.Model):
    """One grant (artifacts.sandbox.grants): the sha256 of its token, never the token; what it
    lets one session load; until when a load may start. Plain ids, not foreign keys:
    redeeming re-checks user, membership and artifact anyway, and a row outlives nothing
    (expired ones are deleted by the retention run's housekeeping)."""

    token_hash = models.CharField(max_length=64, primary_key=True)
    user_id = models.BigIntegerField()
    organization_id = models.BigIntegerField()
    artifact_id = models.CharField(max_length=32)
    version_number = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    session_hash = models.CharField(max_length=64)  # orgs.Session.key_hash, not the key
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"grant for {self.artifact_id} v{self.version_number}"
