"""Reads of artifacts, each filtered by what the user may see (SPEC §2.4–2.5).

An artifact is visible to a user who is *currently* a member of its organisation and is
either its author or, for visibility `org`, holds a role that may view shared artifacts.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from orgs.errors import Forbidden, Invalid, NotFound
from orgs.mfa import mfa_satisfied
from orgs.models import Group, Membership, Organization
from orgs.permissions import CAPABILITIES, Can, MfaRequired, SsoRequired
from orgs.sso_session import sso_reachable, sso_satisfied

from .models import Artifact, Collection, Format, Share, Version, Visibility
from .search import search_filter


class ArtifactsOff(Forbidden):
    code = "artifacts_disabled"

    def __init__(self):
        super().__init__("Artifacts are turned off for this organisation by its admins.")


_ROLES_VIEWING_SHARED = [role for role, caps in CAPABILITIES.items() if Can.VIEW_SHARED in caps]


def artifacts_visible(user, organization: Organization | None = None) -> QuerySet[Artifact]:
    if not user.is_authenticated or not user.is_active:
        return Artifact.objects.none()
    # SECURITY: the user's own, current memberships decide, read in subqueries. (Joins to
    # memberships, shares and groups would repeat an artifact per matching row, and the
    # DISTINCT that drops the repeats makes the database read every visible artifact
    # before it can answer a page of 50.)
    memberships = Membership.objects.filter(user=user)
    viewing_shared = memberships.filter(
        role__in=_ROLES_VIEWING_SHARED,
        organization__sharing_enabled=True,  # off: shares are suspended, not removed
    )
    groups = Group.members.through.objects.filter(user=user).values("group")
    shared_with_user = Exists(
        Share.objects.filter(Q(user=user) | Q(group__in=groups), artifact=OuterRef("pk"))
    )
    qs = Artifact.objects.filter(
        Q(author=user, organization__in=memberships.values("organization"))
        | Q(
            Q(visibility=Visibility.ORG) | shared_with_user,
            organization__in=viewing_shared.values("organization"),
        ),
        organization__artifacts_enabled=True,
        latest_version__gt=0,
        trashed_at__isnull=True,  # deleted: in the trash, seen by nobody (admins restore it)
    )
    if not mfa_satisfied(user):
        qs = qs.filter(organization__require_mfa=False)
    qs = qs.filter(sso_reachable(user))
    if organization is not None:
        qs = qs.filter(organization=organization)
    return qs


# The lists' orders: last updated first (the default), by title, or newest first. Only
# "created" is stable while others push: a new version moves an artifact to the top of
# "updated", so a walk through every page that must miss nothing uses "created".
ORDERS = {
    "relevance": ("-rank", "-updated_at", "-pk"),  # a search's (artifacts.search ranks)
    "updated": ("-updated_at", "-pk"),
    "title": ("title_key", "pk"),
    "created": ("-created_at", "-pk"),
}
SCOPES = ("org", "mine", "shared")  # all I may see; my own; shared with me or my groups


@dataclass(frozen=True)
class ListFilters:
    """What a list of artifacts narrows to, and its order: the home page's, the API's,
    the CLI's and MCP's (through the API). Made by list_filters, which checks them."""

    search: str = ""  # words of the title, the messages or the text (full-text search)
    scope: str = "org"
    author: str = ""  # an email
    format: str = ""
    updated_since: datetime | None = None
    sort: str = "updated"
    collection: Collection | None = None

    @property
    def order(self) -> tuple[str, ...]:
        return ORDERS[self.sort]


def list_filters(
    *,
    search: str = "",
    scope: str = "",
    author: str = "",
    format: str = "",
    updated_since: str | datetime | None = None,
    sort: str = "",
    collection: Collection | None = None,
) -> ListFilters:
    """ListFilters from a request's parameters; Invalid (400) names a bad one."""
    # Control characters are no words (and a NUL ends an FTS5 query early).
    search = " ".join("".join(c if c.isprintable() else " " for c in search).split())[:500]
    scope, format = scope or "org", format or ""
    sort = sort or ("relevance" if search else "updated")
    if sort == "relevance" and not search:
        raise Invalid("sort=relevance needs words to search for (q).", field="sort")
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}.", field="scope")
    if sort not in ORDERS:
        raise Invalid(f"sort must be one of {', '.join(ORDERS)}.", field="sort")
    if format and format not in Format.values:
        raise Invalid(f"format must be one of {', '.join(Format.values)}.", field="format")
    if isinstance(updated_since, str):
        text = updated_since.strip()
        try:
            parsed = (parse_datetime(text) or _date_start(text)) if text else None
        except ValueError:  # well formed, but no such day (2026-02-30)
            parsed = None
        if text and parsed is None:
            raise Invalid(
                "updated_since must be a date or an ISO 8601 time.", field="updated_since"
            )
        updated_since = parsed
    if updated_since is not None and not 1 < updated_since.year < 9999:
        # Within a day of the calendar's ends a time zone's offset overflows it.
        raise Invalid("updated_since is out of range.", field="updated_since")
    if updated_since is not None and timezone.is_naive(updated_since):
        updated_since = timezone.make_aware(updated_since, UTC)
    return ListFilters(
        search=search,
        scope=scope,
        author=author.strip().lower(),
        format=format,
        updated_since=updated_since,
        sort=sort,
        collection=collection,
    )


def _date_start(text: str) -> datetime | None:
    day = parse_date(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def artifact_list(user, *, organization: Organization | None = None, filters=ListFilters()):
    """What the user may see, narrowed and ordered as `filters` say, with what the home
    page and the API list show, in one query."""
    latest_size = Version.objects.filter(
        artifact=OuterRef("pk"), number=OuterRef("latest_version")
    ).values("size")[:1]
    qs = artifacts_visible(user, organization)
    if filters.search:  # SECURITY: only within what the user may see, as everything here
        qs = search_filter(qs, filters.search, ranked=filters.sort == "relevance")
    if filters.scope == "mine":
        qs = qs.filter(author=user)
    elif filters.scope == "shared":
        shared = Share.objects.filter(Q(user=user) | Q(group__members=user))
        qs = qs.exclude(author=user).filter(pk__in=shared.values("artifact"))
    if filters.author:
        qs = qs.filter(author__email__iexact=filters.author)
    if filters.format:
        qs = qs.filter(format=filters.format)
    if filters.updated_since is not None:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    if filters.collection is not None:
        filed = Collection.artifacts.through.objects.filter(collection=filters.collection)
        qs = qs.filter(pk__in=filed.values("artifact"))
    return (
        qs.select_related("author", "organization")
        .prefetch_related("collections")
        .annotate(latest_size=Subquery(latest_size), title_key=Lower("title"))  # Beta after alpha
        .order_by(*filters.order)
    )


def artifact_get_visible(user, artifact_id: str) -> Artifact:
    """The artifact if the user may see it; 404 otherwise, whatever the reason."""
    artifact = (
        artifacts_visible(user)
        .select_related("organization", "author")
        .filter(pk=artifact_id)
        .first()
    )
    if artifact is None:
        _raise_if_turned_off(user, artifact_id)
        raise NotFound()
    return artifact


def _raise_if_turned_off(user, artifact_id: str) -> None:
    """A member opening an artifact of their org while the org has artifacts turned off, or
    requires MFA or SSO they lack, is told so (it is their org: nothing leaks); anyone else gets
    the plain 404."""
    if not user.is_authenticated:
        return
    artifact = (
        Artifact.objects.select_related("organization")
        .filter(pk=artifact_id, organization__memberships__user=user, trashed_at__isnull=True)
        .first()
    )
    if artifact is None:
        return
    if not artifact.organization.artifacts_enabled:
        raise ArtifactsOff()
    if artifact.organization.require_mfa and not mfa_satisfied(user):
        raise MfaRequired(artifact.organization, user)
    if not sso_satisfied(user, artifact.organization):
        raise SsoRequired(artifact.organization)


def version_get(artifact: Artifact, number: int | None = None) -> Version:
    """A version of an artifact already checked as visible; without a number, the one the
    stable URL shows (pinned, or the latest)."""
    number = artifact.shown_version if number is None else number
    version = artifact.versions.select_related("created_by").filter(number=number).first()
    if version is None:
        raise NotFound(f"Version {number} does not exist.")
    return version


def artifact_requestable(user, artifact_id: str) -> Artifact | None:
    """An artifact the user may not see but may ask for: one of a current org of theirs
    (with artifacts on). None for anyone else, who gets the plain 404."""
    if not user.is_authenticated or not user.is_active:
        return None
    qs = (
        Artifact.objects.all()
        if mfa_satisfied(user)
        else Artifact.objects.filter(organization__require_mfa=False)
    )
    return (
        qs.select_related("author", "organization")
        .filter(
            sso_reachable(user),
            pk=artifact_id,
            latest_version__gt=0,
            trashed_at__isnull=True,
            organization__artifacts_enabled=True,
            organization__memberships__user=user,
        )
        .first()
    )


def artifact_audience(artifact: Artifact) -> dict:
    """Who can see it, for the share control: the whole org, or the listed members/groups."""
    shares = artifact.shares.select_related("user", "group")
    return {
        "org": artifact.visibility == Visibility.ORG,
        "members": sorted(s.user.email for s in shares if s.user_id),
        "groups": sorted(s.group.slug for s in shares if s.group_id),
    }


def artifacts_trashed(organization: Organization) -> QuerySet[Artifact]:
    """The org's trash, for its admins (the caller checks the role): newest first."""
    return (
        Artifact.objects.filter(organization=organization, trashed_at__isnull=False)
        .select_related("author", "trashed_by")
        .order_by("-trashed_at", "-pk")
    )
