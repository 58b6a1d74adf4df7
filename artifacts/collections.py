"""Collections: named sets of an org's artifacts. Any member who may create artifacts makes
one; the author of an artifact (or an admin) files it in collections; a collection's
creator or an admin deletes it (its artifacts stay). A name is known by its slug, so
"Q3 reports" and "q3-reports" are one collection. Every change is audited."""

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils.text import slugify

from orgs.audit import audit_record
from orgs.errors import Forbidden, Invalid, NotFound
from orgs.mfa import mfa_satisfied
from orgs.models import Organization
from orgs.permissions import Can, membership_require, role_can
from orgs.sso_session import sso_reachable

from .models import Artifact, Collection
from .selectors import ArtifactsOff

NAME_MAX = 100


def _slug_of(name: str) -> str:
    slug = slugify(name)[:64].strip("-")
    if not slug:
        raise Invalid("A collection needs a name with a letter or a digit.", field="collection")
    return slug


def _name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("A collection needs a name.", field="collection")
    if len(name) > NAME_MAX:
        raise Invalid(f"A collection's name is at most {NAME_MAX} characters.", field="collection")
    return name


def collection_name_check(name: str) -> None:
    """Invalid (400) unless `name` can name a collection."""
    _slug_of(_name_clean(name))


def _reach(user, organization: Organization, capability: Can):
    """The user's membership if the org's collections are theirs to use now: its rules
    (second factor, SSO) met, and artifacts not turned off."""
    membership = membership_require(user, organization, capability)
    if not organization.artifacts_enabled:
        raise ArtifactsOff()
    return membership


def collections_of(user, organization: Organization) -> QuerySet[Collection]:
    """The org's collections by name, each with how many artifacts it holds (of any
    visibility: the count says nothing of which), for a member who may see them."""
    _reach(user, organization, Can.VIEW_SHARED)
    held = Count("artifacts", filter=Q(artifacts__trashed_at__isnull=True))
    return organization.collections.annotate(size=held).order_by("slug", "pk")


def user_collections(user) -> QuerySet[Collection]:
    """The collections of the orgs this sign-in may reach (a member, the org's second
    factor and SSO rules met, artifacts on), by org and name."""
    collections = Collection.objects.filter(
        organization__memberships__user=user, organization__artifacts_enabled=True
    ).filter(sso_reachable(user))
    if not mfa_satisfied(user):
        collections = collections.filter(organization__require_mfa=False)
    return collections.select_related("organization").order_by("organization__slug", "slug")


def collection_get(user, organization: Organization, slug: str) -> Collection:
    _reach(user, organization, Can.VIEW_SHARED)
    collection = organization.collections.filter(slug=slug).first()
    if collection is None:
        raise NotFound(f"No collection {slug!r} in {organization.slug}.")
    return collection


def collection_create(*, user, organization: Organization, name: str) -> Collection:
    """A new collection, or the one of this name (slug) if the org has it already."""
    _reach(user, organization, Can.CREATE)
    return _get_or_create(user, organization, _name_clean(name))


def _get_or_create(user, organization: Organization, name: str) -> Collection:
    slug = _slug_of(name)
    existing = organization.collections.filter(slug=slug).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            collection = Collection.objects.create(
                organization=organization, name=name, slug=slug, created_by=user
            )
            audit_record(
                organization=organization,
                actor=user,
                action="collection.create",
                target=slug,
                name=name,
            )
    except IntegrityError:  # made by another request at the same moment
        return organization.collections.get(slug=slug)
    return collection


def collection_delete(*, user, organization: Organization, slug: str) -> None:
    membership = _reach(user, organization, Can.CREATE)
    collection = collection_get(user, organization, slug)
    if collection.created_by_id != user.pk and not role_can(membership.role, Can.DELETE_ANY):
        raise Forbidden("Only the collection's creator or an org admin can delete it.")
    with transaction.atomic():
        collection.delete()
        audit_record(organization=organization, actor=user, action="collection.delete", target=slug)


def artifact_collections_set(*, user, artifact: Artifact, names: list[str]) -> list[Collection]:
    """The artifact is in exactly these collections (made if missing): the author's or an
    admin's to decide. The caller has checked the artifact is visible to the user."""
    membership = _reach(user, artifact.organization, Can.CREATE)
    if artifact.author_id != user.pk and not role_can(membership.role, Can.DELETE_ANY):
        raise Forbidden("Only the author or an org admin can file this artifact.")
    names = [_name_clean(n) for n in names]
    with transaction.atomic():
        wanted = {}
        for name in names:
            collection = _get_or_create(user, artifact.organization, name)
            wanted[collection.pk] = collection
        current = set(artifact.collections.values_list("pk", flat=True))
        added, removed = set(wanted) - current, current - set(wanted)
        if added or removed:
            artifact.collections.add(*added)
            artifact.collections.remove(*removed)
            slugs = dict(
                Collection.objects.filter(pk__in=added | removed).values_list("pk", "slug")
            )
            audit_record(
                organization=artifact.organization,
                actor=user,
                action="artifact.collections",
                target=artifact.pk,
                added=sorted(slugs[pk] for pk in added),
                removed=sorted(slugs[pk] for pk in removed),
            )
    return sorted(wanted.values(), key=lambda c: c.slug)


def collection_add(*, user, artifact: Artifact, name: str) -> Collection:
    """Files a new push in a collection (push --collection): the pusher is its author."""
    collection = _get_or_create(user, artifact.organization, _name_clean(name))
    if not collection.artifacts.filter(pk=artifact.pk).exists():
        collection.artifacts.add(artifact)
        audit_record(
            organization=artifact.organization,
            actor=user,
            action="artifact.collections",
            target=artifact.pk,
            added=[collection.slug],
            removed=[],
        )
    return collection
