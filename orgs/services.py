"""Writes to organisations, memberships and tokens. Each change is audited in its transaction."""

import hashlib
import re
import secrets
from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify

from .audit import audit_record
from .errors import Conflict, Forbidden, Invalid, NotFound
from .mfa import mfa_mark, mfa_satisfied, user_has_mfa
from .models import (
    ApiToken,
    Group,
    Invitation,
    Membership,
    Organization,
    Role,
    ScimToken,
    ScimUser,
)
from .params import whole_number
from .permissions import Can, membership_require, role_can
from .sso_session import TOKEN, sso_mark, sso_used_for

member_removed = Signal()  # kwargs: organization, user, actor

TOKEN_PREFIX = "art_"  # noqa: S105  (a public prefix, not a secret)


def org_create(*, slug: str, name: str = "", actor=None) -> Organization:
    if slugify(slug) != slug or not slug:
        raise Invalid(f"Invalid slug {slug!r}: use lowercase letters, digits and hyphens.")
    with transaction.atomic():
        if Organization.objects.filter(slug=slug).exists():
            raise Conflict(f"Organisation {slug!r} already exists.")
        org = Organization(slug=slug, name=name or slug)
        org.full_clean()
        org.save()
        audit_record(organization=org, actor=actor, action="org.create", target=slug)
    return org


def user_get_or_create(*, email: str, password: str | None = None):
    """The user with this email, created with a verified address if missing."""
    email = email.strip().lower()
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email[:150], email=email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def member_add(
    *, organization: Organization, email: str, role: str, password: str | None = None, actor=None
) -> Membership:
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    with transaction.atomic():
        user = user_get_or_create(email=email, password=password)
        membership, created = Membership.objects.update_or_create(
            user=user, organization=organization, defaults={"role": role}
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="member.add" if created else "member.role_change",
            target=user.email,
            role=role,
        )
    return membership


def _member_for_change(organization: Organization, email: str, actor) -> Membership:
    """The target membership, row-locked, once the actor may change it: admins manage roles
    below owner, owners manage everyone. actor=None is the operator (manage.py); a
    ScimToken, the org's own identity provider, manages everyone too (orgs.scim)."""
    acting = None
    if actor is not None and not isinstance(actor, ScimToken):
        acting = membership_require(actor, organization, Can.MANAGE_MEMBERS)
    # The org row lock serialises role changes, so two owners demoting each other at once
    # cannot leave the org without one.
    Organization.objects.select_for_update().get(pk=organization.pk)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(organization=organization, user__email__iexact=email.strip())
        .first()
    )
    if membership is None:
        raise NotFound(f"{email} is not a member of {organization.slug}.")
    if (
        acting is not None
        and membership.role == Role.OWNER
        and not role_can(acting.role, Can.MANAGE_OWNERS)
    ):
        raise Forbidden("Only an owner can change another owner.")
    return membership


def _is_last_owner(membership: Membership) -> bool:
    return (
        membership.role == Role.OWNER
        and not Membership.objects.filter(
            organization_id=membership.organization_id, role=Role.OWNER
        )
        .exclude(pk=membership.pk)
        .exists()
    )


def member_role_change(*, organization: Organization, email: str, role: str, actor) -> Membership:
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    with transaction.atomic():
        membership = _member_for_change(organization, email, actor)
        if role == Role.OWNER and actor is not None:
            membership_require(actor, organization, Can.MANAGE_OWNERS)
        if membership.role == role:
            return membership
        if _is_last_owner(membership):
            raise Conflict("The last owner of an organisation cannot be demoted.")
        audit_record(
            organization=organization,
            actor=actor,
            action="member.role_change",
            target=membership.user.email,
            old=membership.role,
            new=role,
        )
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def member_remove(*, organization: Organization, email: str, actor=None) -> None:
    with transaction.atomic():
        membership = _member_for_change(organization, email, actor)
        if _is_last_owner(membership):
            raise Conflict("The last owner of an organisation cannot be removed.")
        membership.delete()
        for group in organization.groups.filter(members=membership.user):
            group.members.remove(membership.user)
        # Tokens are scoped to the org: they die with the membership.
        ApiToken.objects.filter(user=membership.user, organization=organization).update(
            revoked_at=timezone.now()
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="member.remove",
            target=membership.user.email,
        )
        # Apps holding per-user grants of access (artifact shares) drop them in this same
        # transaction, so a member who rejoins later gets nothing back by surprise.
        member_removed.send(
            sender=Membership, organization=organization, user=membership.user, actor=actor
        )


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *,
    user,
    organization: Organization,
    name: str = "",
    expires_in_days: int | None = None,
    actor=None,
    mfa_used: bool,
) -> tuple[ApiToken, str]:
    """Returns the token and its secret. The secret is not stored and cannot be shown again.
    `mfa_used`: the sign-in that asks for it used a second factor (True for an operator's
    command: shell access to the server outranks any factor)."""
    if not Membership.objects.filter(user=user, organization=organization).exists():
        raise NotFound(f"{user.email} is not a member of {organization.slug}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    name = (name or "token").strip()[:100]
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            organization=organization,
            name=name,
            prefix=secret[:12],
            token_hash=_token_hash(secret),
            mfa_used=mfa_used,
            expires_at=timezone.now() + timedelta(days=expires_in_days)
            if expires_in_days
            else None,
        )
        audit_record(
            organization=organization,
            actor=actor or user,
            action="token.create",
            target=f"{user.email}: {name}",
        )
    return token, secret


def token_revoke(*, token: ApiToken, actor) -> None:
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if updated:
            audit_record(
                organization=token.organization,
                actor=actor,
                action="token.revoke",
                target=f"{token.user.email}: {token.name}",
            )


def token_authenticate(secret: str) -> ApiToken | None:
    """The live token for this secret, its user active and still a member of its org."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user", "organization")
        .filter(token_hash=_token_hash(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None or (token.expires_at and token.expires_at <= now):
        return None
    membership = Membership.objects.filter(user=token.user, organization=token.organization).first()
    if membership is None:
        return None
    token.membership = membership
    mfa_mark(token.user, used=token.mfa_used)  # as the sign-in that made it
    sso_mark(token.user, providers=TOKEN)  # require_sso spares tokens (they die with members)
    # Bounded writes: last-used is precise to the minute, not one UPDATE per request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


SETTINGS = (
    "artifacts_enabled",
    "sharing_enabled",
    "scripts_allowed",
    "min_create_role",
    "require_mfa",
    "require_sso",
    "default_visibility",
    "default_group",
    "auto_join_domains",
    "auto_join_role",
    *(
        RETENTION := {
            # name: (smallest, largest, may be empty = keep forever)
            "retention_unshared_days": (0, 36500, True),
            "retention_shared_days": (0, 36500, True),
            "retention_keep_versions": (1, 100000, True),
            "retention_notice_days": (0, 365, False),
            "retention_grace_days": (0, 3650, False),
            "retention_view_days": (1, 36500, False),
        }
    ),
)
_CLEAR = object()  # "set this optional setting to nothing" (None means "not given")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def domains_clean(value, *, field: str = "auto_join_domains") -> str:
    """'Example.com, corp.example.org' -> 'example.com,corp.example.org' (validated)."""
    items = [d.strip().lower().lstrip("@") for d in re.split(r"[,\s]+", value or "") if d.strip()]
    for domain in items:
        if not DOMAIN_RE.match(domain):
            raise Invalid(f"Not an email domain: {domain!r}.", field=field)
    return ",".join(dict.fromkeys(items))


def _clean_retention(name: str, value):
    """A whole number in range, or "" to keep forever where the policy may be empty."""
    low, high, optional = RETENTION[name]
    if value == "" and optional:
        return _CLEAR
    if isinstance(value, str):  # a form field
        number = whole_number(value)
    else:  # JSON: a number, and never true/false
        number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None or not low <= number <= high:
        empty = ", or empty to keep forever" if optional else ""
        raise Invalid(f"{name} must be a whole number from {low} to {high}{empty}.", field=name)
    return number


def org_settings_update(*, organization: Organization, actor, **changes) -> Organization:
    """Change the org's toggles and retention policy (admins and owners); one audit event
    per changed setting."""
    sso_off_alone = changes.keys() == {"require_sso"} and changes["require_sso"] is False
    membership_require(actor, organization, Can.MANAGE_ORG, break_glass=sso_off_alone)
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise Invalid(f"Unknown setting(s): {', '.join(sorted(unknown))}.")
    role = changes.get("min_create_role")
    if role is not None and role not in (Role.MEMBER, Role.ADMIN, Role.OWNER):
        raise Invalid("min_create_role must be member, admin or owner.", field="min_create_role")
    if changes.get("default_visibility") not in (None, "private", "org"):
        raise Invalid("default_visibility must be private or org.", field="default_visibility")
    if changes.get("auto_join_role") not in (None, Role.VIEWER, Role.MEMBER):
        raise Invalid("auto_join_role must be viewer or member.", field="auto_join_role")
    if changes.get("require_mfa") and not mfa_satisfied(actor):
        # Else the admin would lock themselves out of the console that turns it off.
        if user_has_mfa(actor):
            raise Conflict("Sign in with your second factor before requiring it of others.")
        raise Conflict("Set up two-factor authentication yourself before requiring it.")
    if changes.get("require_sso") not in (None, organization.require_sso):
        _require_sso_check(actor, organization, on=changes["require_sso"])
    if changes.get("auto_join_domains") is not None:
        changes["auto_join_domains"] = domains_clean(changes["auto_join_domains"])
    for name in RETENTION:
        if changes.get(name) is not None:
            changes[name] = _clean_retention(name, changes[name])
    if changes.get("default_group") is not None:  # a slug; "" clears it
        slug = changes.pop("default_group")
        changes["default_group"] = group_get(organization, slug) if slug else _CLEAR
    with transaction.atomic():
        org = Organization.objects.select_for_update().get(pk=organization.pk)
        changed = []
        for name, value in changes.items():
            if value is None:  # not given
                continue
            value = None if value is _CLEAR else value
            if getattr(org, name) == value:
                continue
            audit_record(
                organization=org,
                actor=actor,
                action="org.setting_change",
                target=name,
                old=_audit_value(getattr(org, name)),
                new=_audit_value(value),
            )
            setattr(org, name, value)
            changed.append(name)
        if changed:
            org.save(update_fields=changed)
    return org


def _require_sso_check(actor, organization: Organization, *, on: bool) -> None:
    """Owners alone turn require_sso on or off, and only on from a session that signed in
    through the org's provider: else they would lock themselves (and everyone) out."""
    membership_require(actor, organization, Can.MANAGE_OWNERS, break_glass=not on)
    if not on:
        return
    if getattr(organization, "sso", None) is None:
        raise Conflict("Set up the organisation's identity provider before requiring it.")
    if not sso_used_for(actor, organization):
        raise Conflict("Sign in through the organisation's identity provider before requiring it.")


def _audit_value(value):
    return value.slug if isinstance(value, Group) else value


def auto_join(*, user, email: str) -> list[Membership]:
    """Memberships for a verified email whose domain an org lets join automatically."""
    domain = email.rpartition("@")[2].lower()
    joined = []
    if not domain:
        return joined
    candidates = Organization.objects.filter(auto_join_domains__icontains=domain)
    for org in candidates:
        if domain not in org.auto_join_domain_list:  # icontains is only a prefilter
            continue
        # The org's identity provider deactivated or deleted them (orgs.scim): the domain
        # does not bring them back.
        if ScimUser.objects.filter(organization=org, user=user).exclude(active=True).exists():
            continue
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(
                user=user, organization=org, defaults={"role": org.auto_join_role}
            )
            if created:
                audit_record(
                    organization=org,
                    actor=user,
                    action="member.auto_join",
                    target=email,
                    role=membership.role,
                    domain=domain,
                )
                joined.append(membership)
    return joined


def sign_in_record(*, user, address: str = "") -> None:
    """A sign-in, in the audit log of each org the user belongs to (one transaction)."""
    with transaction.atomic():
        for membership in Membership.objects.filter(user=user).select_related("organization"):
            audit_record(
                organization=membership.organization,
                actor=user,
                action="member.sign_in",
                target=user.email,
                address=address,
            )


INVITATION_DAYS = 7


def invitation_create(
    *, organization: Organization, actor, email: str, role: str, days: int = INVITATION_DAYS
) -> tuple[Invitation, str]:
    """An invitation and the secret of its link; the email goes out after commit."""
    membership_require(actor, organization, Can.MANAGE_MEMBERS)
    if role not in Role.values:
        raise Invalid(f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.")
    if role == Role.OWNER:
        membership_require(actor, organization, Can.MANAGE_OWNERS)
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise Invalid(f"Not an email address: {email!r}.", field="email") from exc
    if not 1 <= days <= 90:
        raise Invalid("An invitation lasts 1 to 90 days.", field="days")
    if organization.memberships.filter(user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of {organization.slug}.")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=_token_hash(secret),
            invited_by=actor,
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="invitation.create",
            target=email,
            role=role,
            expires_at=invitation.expires_at.isoformat(),
        )
        transaction.on_commit(lambda: _invitation_send(invitation, secret), robust=True)
    return invitation, secret


def invitation_url(secret: str) -> str:
    return f"{settings.ARTIFACTS_APP_URL}/invite/{secret}/"


def _invitation_send(invitation: Invitation, secret: str) -> None:
    # allauth's email machinery (adapter + account/email/org_invitation_* templates), used
    # without its request-bound send_mail so it also works after commit and from tasks.
    context = {
        "email": invitation.email,
        "organization": invitation.organization,
        "role": invitation.role,
        "invited_by": invitation.invited_by.email if invitation.invited_by else "",
        "invite_url": invitation_url(secret),
        "expires_at": invitation.expires_at,
    }
    get_adapter().render_mail("account/email/org_invitation", invitation.email, context).send()


def invitation_get(secret: str) -> Invitation:
    """A pending, unexpired invitation for this link, or NotFound."""
    invitation = (
        Invitation.objects.select_related("organization")
        .filter(
            token_hash=_token_hash(secret), accepted_at__isnull=True, expires_at__gt=timezone.now()
        )
        .first()
    )
    if invitation is None:
        raise NotFound("This invitation does not exist, was used, or has expired.")
    return invitation


def invitation_accept(*, secret: str, user) -> Membership:
    """Join with the invited role, if the user has verified the invited address."""
    with transaction.atomic():
        invitation = invitation_get(secret)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        # SECURITY: an invitation is only as good as its sender's current rights; one sent
        # by an admin since removed or demoted must not let anyone in.
        sender = Membership.objects.filter(
            user_id=invitation.invited_by_id, organization=invitation.organization
        ).first()
        needed = Can.MANAGE_OWNERS if invitation.role == Role.OWNER else Can.MANAGE_MEMBERS
        if sender is None or not role_can(sender.role, needed):
            raise Forbidden("This invitation is no longer valid; ask an admin for a new one.")
        verified = EmailAddress.objects.filter(
            user=user, email__iexact=invitation.email, verified=True
        ).exists()
        if not verified:
            raise Forbidden(
                f"This invitation is for {invitation.email}: sign in with that "
                "address (verified) to accept it."
            )
        membership, created = Membership.objects.get_or_create(
            user=user, organization=invitation.organization, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            organization=invitation.organization,
            actor=user,
            action="invitation.accept",
            target=invitation.email,
            role=membership.role,
            joined=created,
        )
    return membership


def invitation_revoke(*, organization: Organization, actor, invitation_id: int) -> None:
    membership_require(actor, organization, Can.MANAGE_MEMBERS)
    with transaction.atomic():
        invitation = organization.invitations.filter(
            pk=invitation_id, accepted_at__isnull=True
        ).first()
        if invitation is None:
            raise NotFound("No such pending invitation.")
        audit_record(
            organization=organization,
            actor=actor,
            action="invitation.revoke",
            target=invitation.email,
        )
        invitation.delete()


def group_create(*, organization: Organization, actor, slug: str, name: str = "") -> Group:
    membership_require(actor, organization, Can.MANAGE_MEMBERS)
    if not slug or slugify(slug) != slug:
        raise Invalid(f"Invalid group slug {slug!r}: lowercase letters, digits, hyphens.")
    with transaction.atomic():
        if organization.groups.filter(slug=slug).exists():
            raise Conflict(f"Group {slug!r} already exists.")
        group = Group.objects.create(organization=organization, slug=slug, name=name or slug)
        audit_record(organization=organization, actor=actor, action="group.create", target=slug)
    return group


def group_get(organization: Organization, slug: str) -> Group:
    group = organization.groups.filter(slug=slug).first()
    if group is None:
        raise NotFound(f"No group {slug!r} in {organization.slug}.")
    return group


def group_delete(*, organization: Organization, actor, slug: str) -> None:
    membership_require(actor, organization, Can.MANAGE_MEMBERS)
    with transaction.atomic():
        group = group_get(organization, slug)
        if organization.default_group_id == group.pk:
            audit_record(
                organization=organization,
                actor=actor,
                action="org.setting_change",
                target="default_group",
                old=slug,
                new=None,
            )
        group.delete()  # its shares go with it
        audit_record(organization=organization, actor=actor, action="group.delete", target=slug)


def group_members_set(*, organization: Organization, actor, slug: str, emails: list[str]) -> Group:
    """Replace the group's members; each must be a current member of the org."""
    membership_require(actor, organization, Can.MANAGE_MEMBERS)
    wanted = {e.strip().lower() for e in emails if e.strip()}
    with transaction.atomic():
        group = group_get(organization, slug)
        users = {
            m.user.email.lower(): m.user
            for m in organization.memberships.select_related("user").filter(user__email__in=wanted)
        }
        if missing := sorted(wanted - set(users)):
            raise Invalid(f"Not members of {organization.slug}: {', '.join(missing)}.")
        before = {u.email.lower() for u in group.members.all()}
        group.members.set(users.values())
        if before != wanted:
            audit_record(
                organization=organization,
                actor=actor,
                action="group.members",
                target=slug,
                added=sorted(wanted - before),
                removed=sorted(before - wanted),
            )
    return group
