"""Writes of SCIM provisioning: the clients' tokens, and the users and groups an org's
identity provider pushes. Each change is audited in its transaction, with the SCIM token
as actor (orgs.audit: kind idp). Errors are SCIM's own (scim2-models exceptions, each
with its status and scimType), or the orgs services' where those rules apply."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from scim2_models import (
    InvalidValueException,
    MutabilityException,
    NotFoundException,
    PatchOp,
    UniquenessException,
)

from ..audit import audit_record
from ..errors import Invalid
from ..models import (
    Group,
    Membership,
    Organization,
    Role,
    ScimGroup,
    ScimToken,
    ScimUser,
    SsoConnection,
)
from ..permissions import Can, membership_require
from ..services import member_remove
from .resources import group_request_of, user_request_of
from .schemas import GroupRequest, UserRequest
from .selectors import account_is_provisioned, members_by_group, uuid_or_none

TOKEN_PREFIX = "scim_"  # noqa: S105  (a public prefix, not a secret)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def scim_token_create(
    *, organization: Organization, name: str, actor=None
) -> tuple[ScimToken, str]:
    """A token for the org's SCIM client, and its secret (not stored, shown once).
    `actor`: an owner in the console, or None for an operator's command. SECURITY: owners
    only, as for the identity provider itself: a SCIM client can remove owners."""
    if actor is not None:
        membership_require(actor, organization, Can.MANAGE_OWNERS)
    name = (name or "").strip()[:100] or "SCIM"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ScimToken.objects.create(
            organization=organization,
            name=name,
            prefix=secret[:12],
            token_hash=_hash(secret),
            created_by=actor,
        )
        audit_record(
            organization=organization,
            actor=actor,
            action="scim.token_create",
            target=name,
            prefix=token.prefix,
        )
    return token, secret


def scim_token_revoke(*, organization: Organization, token_id: int, actor) -> ScimToken:
    membership_require(actor, organization, Can.MANAGE_OWNERS)
    with transaction.atomic():
        token = organization.scim_tokens.select_for_update().filter(pk=token_id).first()
        if token is None or token.revoked_at is not None:
            raise Invalid("No such SCIM token, or it was already revoked.")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            organization=organization, actor=actor, action="scim.token_revoke", target=token.name
        )
    return token


def scim_token_authenticate(secret: str) -> ScimToken | None:
    """The live token for this secret, with its org."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ScimToken.objects.select_related("organization")
        .filter(token_hash=_hash(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Bounded writes: last-used is precise to the minute, not one UPDATE per request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


# Users


@dataclass
class _UserValues:
    user_name: str
    email: str
    given_name: str
    family_name: str
    external_id: str
    active: bool | None


def _email_of(resource: UserRequest) -> str:
    """The account's email: userName when it is an address (what Okta and Entra send, as
    docs/scim.md asks), else the primary address of `emails`, else its first."""
    emails = sorted((e for e in resource.emails or [] if e.value), key=lambda e: not e.primary)
    for candidate in [resource.user_name or "", *(e.value for e in emails)]:
        email = candidate.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            continue
        return email
    raise InvalidValueException(
        detail="The user needs an email address: userName, or one of emails."
    )


def _text_check(label: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidValueException(detail=f"{label} is longer than {limit} characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidValueException(detail=f"{label} holds control characters.")


def _user_values(resource: UserRequest) -> _UserValues:
    user_name = (resource.user_name or "").strip()
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    _text_check("userName", user_name, 255)
    email = _email_of(resource)
    values = _UserValues(
        # An address is kept as the account's (lowercase): one spelling of one person.
        user_name=email if user_name.lower() == email else user_name,
        email=email,
        given_name=((resource.name and resource.name.given_name) or "").strip(),
        family_name=((resource.name and resource.name.family_name) or "").strip(),
        external_id=(resource.external_id or "").strip(),
        active=resource.active,
    )
    for label, value, limit in (
        ("emails", values.email, 150),
        ("name.givenName", values.given_name, 150),
        ("name.familyName", values.family_name, 150),
        ("externalId", values.external_id, 255),
    ):
        _text_check(label, value, limit)
    return values


def _user_name_check(organization: Organization, user_name: str, scim_user=None) -> None:
    others = ScimUser.objects.filter(
        organization=organization, user_name__iexact=user_name, deleted_at__isnull=True
    )
    if scim_user is not None:
        others = others.exclude(pk=scim_user.pk)
    if others.exists():
        raise UniquenessException(detail=f"userName {user_name} is already provisioned here.")


def _domain_check(organization: Organization, email: str) -> None:
    """SECURITY: no account at a domain another org's provider signs in (a domain belongs
    to one org's SSO at most): one org's SCIM client must not squat the addresses of
    another org's people, whose first sign-in would then be refused."""
    domain = email.rpartition("@")[2]
    others = SsoConnection.objects.exclude(organization=organization)
    for connection in others.filter(domains__icontains=domain):
        if domain in connection.domain_list:  # icontains is only a prefilter
            raise InvalidValueException(
                detail=f"{domain} is another organisation's domain: its accounts are not "
                "this organisation's to make."
            )


def _account_create(values: _UserValues, organization: Organization):
    """A new account for a provisioned user: no password (they sign in through the org's
    provider, or set one by password reset). SECURITY: the address is not marked verified:
    an org's provider vouches for its own people, not for anyone's email domain, and a
    verified address would auto-join other orgs (orgs.services.auto_join)."""
    _domain_check(organization, values.email)
    User = get_user_model()
    if User.objects.filter(username=values.email).exists():
        raise UniquenessException(detail="Another account already has this email.")
    user = User(
        username=values.email,
        email=values.email,
        first_name=values.given_name,
        last_name=values.family_name,
    )
    user.set_unusable_password()
    user.save()
    EmailAddress.objects.create(user=user, email=values.email, verified=False, primary=True)
    return user


def _email_change(scim_user: ScimUser, email: str) -> None:
    user, organization = scim_user.user, scim_user.organization
    if not account_is_provisioned(scim_user):
        raise MutabilityException(
            detail="This account was not made by this organisation's provider: "
            "its email is its owner's to change."
        )
    _domain_check(organization, email)
    User = get_user_model()
    if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise UniquenessException(detail="Another account already has this email.")
    old = user.email
    user.email = email
    if user.username == old:
        user.username = email
    user.save(update_fields=["email", "username"])
    # The new address is unverified, as a new account's is.
    if not EmailAddress.objects.filter(user=user, email__iexact=old).update(
        email=email, verified=False, primary=True
    ):
        EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)


def _membership_sync(scim_user: ScimUser, token: ScimToken, *, was_active: bool | None) -> None:
    """Give or take the membership as `active` says. Taking it goes through
    orgs.services.member_remove: groups, API tokens and artifact shares go with it, and
    the sandbox's cached decisions with them, so access ends on the next request. Giving
    it happens on creation and on reactivation (false, then true) only: someone an admin
    removed in the console is not brought back by the provider's next update."""
    organization = token.organization
    user = scim_user.user
    membership = Membership.objects.filter(user=user, organization=organization).first()
    if scim_user.active is False and membership is not None:
        scim_user.role = membership.role  # given back on reactivation
        scim_user.save(update_fields=["role"])
        member_remove(organization=organization, email=user.email, actor=token)
        audit_record(
            organization=organization, actor=token, action="scim.user_deactivate", target=user.email
        )
    elif scim_user.active is True and was_active is not True and membership is None:
        # SECURITY: a provider never makes an owner, not even one it deactivated.
        role = scim_user.role or organization.auto_join_role
        if role == Role.OWNER:
            role = Role.ADMIN
        Membership.objects.create(user=user, organization=organization, role=role)
        audit_record(
            organization=organization,
            actor=token,
            action="member.add",
            target=user.email,
            role=role,
            via="scim",
        )


def scim_user_create(*, token: ScimToken, resource: UserRequest) -> ScimUser:
    """A provisioned user, and a membership with the org's auto-join role unless inactive.
    The account is made if no account has this email. SECURITY: an existing account is
    provisioned only if it is a member of this org already (the provider then manages its
    membership, never its profile), or one this org's provider provisioned and deleted."""
    values = _user_values(resource)
    organization = token.organization
    User = get_user_model()
    with transaction.atomic():
        _user_name_check(organization, values.user_name)
        user = User.objects.select_for_update().filter(email__iexact=values.email).first()
        scim_user = None
        if user is None:
            user = _account_create(values, organization)
            scim_user = ScimUser(organization=organization, user=user, account_created=True)
        else:
            scim_user = ScimUser.objects.filter(organization=organization, user=user).first()
            if scim_user is not None and scim_user.deleted_at is None:
                raise UniquenessException(detail=f"{values.email} is already provisioned here.")
            if scim_user is None:
                if not Membership.objects.filter(user=user, organization=organization).exists():
                    raise UniquenessException(
                        detail=f"An account with {values.email} exists and is not a member "
                        "of this organisation: invite it in the console, then provision it."
                    )
                scim_user = ScimUser(organization=organization, user=user)
        # A user deleted before comes back as a new one (the same id), with a new membership.
        scim_user.deleted_at, scim_user.role = None, ""
        scim_user.user_name, scim_user.external_id = values.user_name, values.external_id
        scim_user.active = values.active
        scim_user.save()
        if account_is_provisioned(scim_user):
            user.first_name, user.last_name = values.given_name, values.family_name
            user.save(update_fields=["first_name", "last_name"])
        audit_record(
            organization=organization,
            actor=token,
            action="scim.user_create",
            target=user.email,
            scim_id=str(scim_user.id),
            external_id=values.external_id,
        )
        _membership_sync(scim_user, token, was_active=None)
    return scim_user


def _scim_user_locked(token: ScimToken, scim_id: str) -> ScimUser:
    """SECURITY: only the token's org's users; any other id is 404, as a missing one."""
    scim_user = (
        ScimUser.objects.select_for_update()
        .select_related("user", "organization")
        .filter(organization=token.organization, id=uuid_or_none(scim_id), deleted_at__isnull=True)
        .first()
    )
    if scim_user is None:
        raise NotFoundException(detail=f"No user {scim_id}.")
    return scim_user


def _user_write(token: ScimToken, scim_user: ScimUser, values: _UserValues) -> None:
    organization, user = token.organization, scim_user.user
    changed = []
    if values.user_name != scim_user.user_name:
        _user_name_check(organization, values.user_name, scim_user)
        changed.append("userName")
    if values.email != user.email.lower():
        _email_change(scim_user, values.email)
        changed.append("emails")
    names = (values.given_name, values.family_name)
    if names != (user.first_name, user.last_name) and account_is_provisioned(scim_user):
        user.first_name, user.last_name = names
        user.save(update_fields=["first_name", "last_name"])
        changed.append("name")
    if values.external_id != scim_user.external_id:
        changed.append("externalId")
    active, was_active = values.active, scim_user.active
    if active != was_active:
        changed.append("active")
    scim_user.user_name = values.user_name
    scim_user.external_id, scim_user.active = values.external_id, active
    scim_user.save(update_fields=["user_name", "external_id", "active", "updated_at"])
    if changed:
        audit_record(
            organization=organization,
            actor=token,
            action="scim.user_update",
            target=user.email,
            changed=changed,
        )
    _membership_sync(scim_user, token, was_active=was_active)


def _is_member(scim_user: ScimUser) -> bool:
    return Membership.objects.filter(
        user_id=scim_user.user_id, organization_id=scim_user.organization_id
    ).exists()


def scim_user_replace(*, token: ScimToken, scim_id: str, resource: UserRequest) -> ScimUser:
    with transaction.atomic():
        scim_user = _scim_user_locked(token, scim_id)
        _user_write(token, scim_user, _user_values(resource))
    return scim_user


def scim_user_patch(*, token: ScimToken, scim_id: str, patch: PatchOp) -> ScimUser:
    """All the operations or none: they apply to the user's current state in memory
    (scim2-models undoes them all if one fails), then it is written in one transaction."""
    with transaction.atomic():
        scim_user = _scim_user_locked(token, scim_id)
        state = user_request_of(scim_user, member=_is_member(scim_user))
        patch.patch(state)
        _user_write(token, scim_user, _user_values(state))
    return scim_user


def scim_user_delete(*, token: ScimToken, scim_id: str) -> None:
    """The membership goes and the provider no longer sees the user. The account stays (it
    may be another org's too, and it holds what its owner pushed), and so does a
    tombstone of the provisioned user: deprovisioned, it does not auto-join or sign in
    through SSO back, unless the provider provisions it again."""
    organization = token.organization
    with transaction.atomic():
        scim_user = _scim_user_locked(token, scim_id)
        email = scim_user.user.email
        if _is_member(scim_user):
            scim_user.role = Membership.objects.get(
                user_id=scim_user.user_id, organization=organization
            ).role
            member_remove(organization=organization, email=email, actor=token)
        scim_user.active, scim_user.deleted_at = False, timezone.now()
        scim_user.save(update_fields=["active", "deleted_at", "role", "updated_at"])
        audit_record(
            organization=organization, actor=token, action="scim.user_delete", target=email
        )


# Groups


def _display_name(resource: GroupRequest) -> str:
    name = (resource.display_name or "").strip()
    if not name:
        raise InvalidValueException(detail="displayName is required.")
    _text_check("displayName", name, 200)
    return name


def _group_external_id(resource: GroupRequest) -> str:
    external_id = (resource.external_id or "").strip()
    _text_check("externalId", external_id, 255)
    return external_id


def _name_check(organization: Organization, name: str, group: Group | None = None) -> None:
    others = organization.groups.filter(name__iexact=name)
    if group is not None:
        others = others.exclude(pk=group.pk)
    if others.exists():
        raise UniquenessException(detail=f"A group named {name!r} already exists.")


def _free_slug(organization: Organization, name: str) -> str:
    """A slug made from the name, with -2, -3… if another group has it."""
    base = slugify(name)[:56].strip("-") or "group"
    taken = set(organization.groups.filter(slug__startswith=base).values_list("slug", flat=True))
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _members_write(token: ScimToken, scim_group: ScimGroup, resource: GroupRequest) -> None:
    """The group's provisioned members become those listed; members added in the console
    stay. Each listed value must be an active provisioned user of this org."""
    organization, group = token.organization, scim_group.group
    wanted_ids = {m.value for m in resource.members or [] if m.value}
    wanted = {}
    for scim_id in wanted_ids:
        try:
            wanted[scim_id] = uuid.UUID(scim_id)
        except ValueError as exc:
            raise InvalidValueException(detail=f"No user {scim_id} in this organisation.") from exc
    users = {
        str(s.id): s
        for s in ScimUser.objects.filter(
            organization=organization, id__in=wanted.values(), deleted_at__isnull=True
        )
    }
    if missing := sorted(wanted_ids - set(users)):
        raise InvalidValueException(detail=f"No user {', '.join(missing)} in this organisation.")
    members = set(
        Membership.objects.filter(
            organization=organization, user_id__in=[s.user_id for s in users.values()]
        ).values_list("user_id", flat=True)
    )
    if inactive := sorted(i for i, s in users.items() if s.user_id not in members):
        raise InvalidValueException(
            detail=f"Inactive users cannot join a group: {', '.join(inactive)}."
        )
    current = {s.user_id for s in members_by_group(organization, [scim_group])[group.pk]}
    target = {s.user_id for s in users.values()}
    added, removed = target - current, current - target
    if not added and not removed:
        return
    group.members.add(*added)
    group.members.remove(*removed)
    emails = dict(
        get_user_model().objects.filter(pk__in=added | removed).values_list("pk", "email")
    )
    audit_record(
        organization=organization,
        actor=token,
        action="group.members",
        target=group.slug,
        added=sorted(emails[pk] for pk in added),
        removed=sorted(emails[pk] for pk in removed),
        via="scim",
    )


def scim_group_create(*, token: ScimToken, resource: GroupRequest) -> ScimGroup:
    organization = token.organization
    name = _display_name(resource)
    with transaction.atomic():
        # The org row lock serialises SCIM group writes: two creations of one name at once
        # cannot both pass the uniqueness check.
        Organization.objects.select_for_update().get(pk=organization.pk)
        _name_check(organization, name)
        group = Group.objects.create(
            organization=organization, slug=_free_slug(organization, name), name=name
        )
        scim_group = ScimGroup.objects.create(group=group, external_id=_group_external_id(resource))
        audit_record(
            organization=organization,
            actor=token,
            action="group.create",
            target=group.slug,
            name=name,
            via="scim",
        )
        _members_write(token, scim_group, resource)
    return scim_group


def _scim_group_locked(token: ScimToken, scim_id: str) -> ScimGroup:
    """SECURITY: only the token's org's groups; any other id is 404, as a missing one."""
    scim_group = (
        ScimGroup.objects.select_for_update()
        .select_related("group")
        .filter(group__organization=token.organization, id=uuid_or_none(scim_id))
        .first()
    )
    if scim_group is None:
        raise NotFoundException(detail=f"No group {scim_id}.")
    return scim_group


def _group_write(token: ScimToken, scim_group: ScimGroup, resource: GroupRequest) -> None:
    organization, group = token.organization, scim_group.group
    name = _display_name(resource)
    if name != group.name:
        _name_check(organization, name, group)
        audit_record(
            organization=organization,
            actor=token,
            action="group.rename",
            target=group.slug,
            old=group.name,
            new=name,
            via="scim",
        )
        group.name = name
        group.save(update_fields=["name"])
    external_id = _group_external_id(resource)
    if external_id != scim_group.external_id:
        audit_record(
            organization=organization,
            actor=token,
            action="scim.group_update",
            target=group.slug,
            changed=["externalId"],
        )
    scim_group.external_id = external_id
    scim_group.save(update_fields=["external_id", "updated_at"])
    _members_write(token, scim_group, resource)


def scim_group_replace(*, token: ScimToken, scim_id: str, resource: GroupRequest) -> ScimGroup:
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=token.organization_id)
        scim_group = _scim_group_locked(token, scim_id)
        _group_write(token, scim_group, resource)
    return scim_group


def scim_group_patch(*, token: ScimToken, scim_id: str, patch: PatchOp) -> ScimGroup:
    """All the operations or none, as scim_user_patch."""
    organization = token.organization
    with transaction.atomic():
        Organization.objects.select_for_update().get(pk=organization.pk)
        scim_group = _scim_group_locked(token, scim_id)
        members = members_by_group(organization, [scim_group])[scim_group.group_id]
        state = group_request_of(scim_group, members)
        patch.patch(state)
        _group_write(token, scim_group, state)
    return scim_group


def scim_group_delete(*, token: ScimToken, scim_id: str) -> None:
    """The group goes, with its shares, as orgs.services.group_delete does it."""
    organization = token.organization
    with transaction.atomic():
        scim_group = _scim_group_locked(token, scim_id)
        group = scim_group.group
        if organization.default_group_id == group.pk:
            audit_record(
                organization=organization,
                actor=token,
                action="org.setting_change",
                target="default_group",
                old=group.slug,
                new=None,
            )
        group.delete()
        audit_record(
            organization=organization,
            actor=token,
            action="group.delete",
            target=group.slug,
            via="scim",
        )
