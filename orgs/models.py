"""Organisation, Membership (with its Role), ApiToken, AuditEvent, the org's identity
provider (SsoConnection, used by orgs.sso) and what its SCIM client provisioned
(ScimToken, ScimUser, ScimGroup, used by orgs.scim)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from .sessions import Session  # noqa: F401  (a model of this app, kept with its engine)


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}


class Organization(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    # Toggles (SPEC §6), changed only through orgs.services.org_settings_update (audited).
    artifacts_enabled = models.BooleanField(default=True)
    # Off: no new shares, and existing org-wide shares are suspended (seen by their authors
    # only) until it is on again; nothing is unshared, so turning it back on restores them.
    sharing_enabled = models.BooleanField(default=True)
    scripts_allowed = models.BooleanField(default=True)
    min_create_role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    # Members without a second factor (TOTP or passkey) reach nothing of the org.
    require_mfa = models.BooleanField(default=False)
    # Members reach nothing of the org unless this session signed in through the org's
    # own identity provider (orgs.sso); API tokens keep working while the membership lasts.
    require_sso = models.BooleanField(default=False)
    # Who sees a new artifact when the pusher does not say: "private" or "org".
    default_visibility = models.CharField(
        max_length=16,
        choices=[("private", "Only the author"), ("org", "Whole organisation")],
        default="private",
    )
    # Or a group that new artifacts are shared with when the pusher does not say.
    default_group = models.ForeignKey(
        "Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Verified users with an email at one of these domains join automatically.
    auto_join_domains = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated, e.g. example.com"
    )
    auto_join_role = models.CharField(
        max_length=16,
        choices=[(Role.VIEWER, "Viewer"), (Role.MEMBER, "Member")],
        default=Role.MEMBER,
    )

    # Retention (SPEC §6), enforced by artifacts.retention; None keeps forever.
    retention_unshared_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Delete unshared artifacts this many days after their last version",
    )
    retention_shared_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Delete shared artifacts this many days after their last version",
    )
    retention_keep_versions = models.PositiveIntegerField(
        null=True, blank=True, help_text="Keep at most this many versions per artifact"
    )
    retention_notice_days = models.PositiveIntegerField(
        default=7, help_text="Tell authors this many days before an artifact expires"
    )
    retention_grace_days = models.PositiveIntegerField(
        default=30, help_text="Deleted artifacts stay restorable from the trash this long"
    )
    retention_view_days = models.PositiveIntegerField(
        default=365, help_text="Who opened an artifact, and when, is kept this many days"
    )

    def __str__(self):
        return self.slug

    @property
    def auto_join_domain_list(self) -> list[str]:
        return [d for d in self.auto_join_domains.split(",") if d]


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org"),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} as {self.role}"


class Group(models.Model):
    """A team inside an org, to share artifacts with. Members are org members."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="groups")
    slug = models.SlugField(max_length=64)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="org_groups", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="one_group_slug_per_org"),
        ]

    def __str__(self):
        return f"{self.organization.slug}/{self.slug}"


class Invitation(models.Model):
    """An invitation by email, accepted through the normal sign-up / sign-in flow.
    Only the sha256 of its token is stored; the link is in the email."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.email} to {self.organization} as {self.role}"


class ApiToken(models.Model):
    """A personal token scoped to one org. Only the sha256 of the secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Made by a session that used a second factor (or by an operator): only then does it
    # reach an org that requires MFA (orgs.mfa), for a user who still has one.
    mfa_used = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class ActorKind(models.TextChoices):
    USER = "user"  # a signed-in user (web, API token)
    OPERATOR = "operator"  # a manage.py command at the server
    SYSTEM = "system"  # a background task (retention)
    IDP = "idp"  # an identity provider (single sign-on, provisioning)


class AuditEvent(models.Model):
    """Append-only: written by services in the same transaction as the change. Who acted
    is kept by kind and email, so the event still says who once the account is gone."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_email = models.CharField(max_length=254, blank=True)  # the user's at the time
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"


class Notification(models.Model):
    """An in-app notice to one user (access requests, expiry warnings)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32)
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)  # for notices also sent by email

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"])]

    def __str__(self):
        return self.text


class Protocol(models.TextChoices):
    OIDC = "oidc", "OpenID Connect"
    SAML = "saml", "SAML 2.0"


class SsoConnection(models.Model):
    """Changed only through orgs.sso.services (audited). The SocialApp holds what allauth
    needs to run the flow (issuer, client, secret or SAML metadata); this row holds what
    the org decides about the people it signs in."""

    organization = models.OneToOneField(
        "orgs.Organization", on_delete=models.CASCADE, related_name="sso"
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    app = models.OneToOneField(
        "socialaccount.SocialApp", on_delete=models.PROTECT, related_name="sso_connection"
    )
    # SECURITY: the provider signs in, or into an existing account, only people whose
    # verified email is at one of these; a domain belongs to one org's provider at most.
    domains = models.CharField(max_length=500, help_text="Comma-separated, e.g. example.com")
    # A claim (OIDC) or attribute (SAML) listing the user's groups: the org's groups of
    # those names are the user's, at each sign-in. Blank: groups are left alone.
    groups_claim = models.CharField(max_length=100, blank=True, default="groups")
    # A claim whose value(s) name a role (admin, member, viewer): the highest is the
    # member's role, at each sign-in. Blank: new members get the org's auto-join role
    # and roles are then left to the admins. Owners are never changed by a provider.
    role_claim = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.organization} via {self.protocol}"

    @property
    def domain_list(self) -> list[str]:
        return [d for d in self.domains.split(",") if d]

    @property
    def provider_id(self) -> str:
        return self.app.provider_id


class ScimToken(models.Model):
    """A bearer token of an identity provider's SCIM client; it picks the org. Only the
    sha256 of the secret is stored. Changed only through orgs.scim.services (audited)."""

    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="scim_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class ScimUser(models.Model):
    """A user account as one org's identity provider provisioned it. The membership is
    what grants access; this row is what the provider sees, so a deactivated user (no
    membership) still answers as `active: false` and can be reactivated."""

    # The SCIM id: random, so that ids say nothing about other orgs' users.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "orgs.Organization", on_delete=models.CASCADE, related_name="scim_users"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # The provider's userName: its identifier for the person, any string (RFC 7643 §4.1.1),
    # unique in the org whatever its case. Usually their email, which the account is then
    # found by; else the account's email came from `emails` (orgs.scim.services).
    user_name = models.CharField(max_length=255)
    external_id = models.CharField(max_length=255, blank=True)
    # What the provider said: False ends the membership; None (it removed the attribute)
    # leaves the user a member, as True does.
    active = models.BooleanField(null=True, default=True)
    # The role of the membership that deactivation removed: reactivation gives it back
    # (never as owner).
    role = models.CharField(max_length=16, blank=True)
    # SCIM made the account: only such an account's email and name are the provider's to
    # write, and its own to sign into (orgs.scim.selectors.provisioned_account).
    account_created = models.BooleanField(default=False)
    # DELETE leaves this tombstone (active false): the person stays deprovisioned, so
    # neither the org's auto-join domains nor its SSO bring them back; SCIM shows none.
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_scim_user_per_org"),
            models.UniqueConstraint(
                "organization",
                Lower("user_name"),
                condition=models.Q(deleted_at__isnull=True),
                name="one_scim_user_name_per_org",
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} (scim)"


class ScimGroup(models.Model):
    """The SCIM side of an org's group: its random SCIM id and the provider's externalId.
    Made when SCIM first shows or touches the group."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    group = models.OneToOneField("orgs.Group", on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.group} (scim)"
