"""Web pages of the app host: home, upload, the viewer, source download, delete."""

import re
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_http_methods, require_POST

from orgs.errors import Invalid, NotFound, ServiceError
from orgs.paging import page_of
from orgs.params import whole_number
from orgs.permissions import Can, role_can
from orgs.selectors import notices_unread

from . import diff as diffs
from . import services, storage
from .collections import artifact_collections_set, user_collections
from .links import artifact_url
from .models import Format, Visibility
from .readers import open_note, views_of, views_summary, views_visible_to
from .rendered_pages import rendered_script_hash
from .retention.policy import artifact_expires_at
from .sandbox.grants import grant_mint, grant_url
from .search import snippet_html
from .selectors import (
    artifact_audience,
    artifact_get_visible,
    artifact_list,
    artifact_requestable,
    list_filters,
    version_get,
)
from .source import source_response
from .uploads import upload_from_request


def _visible_or_404(request, artifact_id):
    try:
        return artifact_get_visible(request.user, artifact_id)
    except NotFound as exc:
        raise Http404 from exc
    except ServiceError as exc:  # e.g. the org turned artifacts off: say so, to members
        raise PermissionDenied(exc.message) from exc


def _version_or_404(artifact, number=None):
    try:
        return version_get(artifact, number)
    except NotFound as exc:
        raise Http404 from exc


HOME_PAGE = 50  # artifacts a page of the home page shows
SCOPE_LABELS = [("org", "All I can see"), ("mine", "Mine"), ("shared", "Shared with me")]


FILTER_PARAMETERS = ("q", "scope", "author", "format", "updated_since", "sort", "collection")


def _collection_or_none(user, value: str | None):
    """The collection the home page filters by: one of the user's orgs', or Invalid."""
    if not value:
        return None
    collection = user_collections(user).filter(pk=whole_number(value) or 0).first()
    if collection is None:
        raise Invalid("No such collection in your organisations.", field="collection")
    return collection


@login_required
def home(request):
    """The artifacts the user may see, filtered and sorted as the form says, a page at a
    time."""
    query = {k: request.GET[k].strip() for k in FILTER_PARAMETERS if request.GET.get(k, "").strip()}
    newest_url = f"?{urlencode(query)}" if query else request.path
    try:
        filters = list_filters(
            search=query.get("q", ""),
            scope=query.get("scope", ""),
            author=query.get("author", ""),
            format=query.get("format", ""),
            updated_since=query.get("updated_since"),
            sort=query.get("sort", ""),
            collection=_collection_or_none(request.user, query.get("collection")),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(request.path)
    try:
        page = page_of(
            artifact_list(request.user, filters=filters),
            filters.order,
            limit=HOME_PAGE,
            cursor=request.GET.get("cursor", ""),
        )
    except ServiceError:  # a cursor of no page of ours: start at the top
        return redirect(newest_url)
    for artifact in page.items:  # a search's match, escaped, its words marked
        artifact.snippet = snippet_html(getattr(artifact, "snippet_raw", None))
    context = {
        "artifacts": page.items,
        "search": filters.search,
        "filters": query,
        "filtered": bool(query),
        "scopes": SCOPE_LABELS,
        "collection": filters.collection,
        "collections": user_collections(request.user),
        "formats": Format.choices,
        "notices": notices_unread(request.user)[:20],
        "older_url": f"?{urlencode({**query, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else "",
        "newest_url": newest_url if request.GET.get("cursor") else "",
    }
    return render(request, "artifacts/home.html", context)


def _orgs_where_user_can_create(user):
    return [
        m.organization
        for m in user.memberships.select_related("organization")
        if role_can(m.role, Can.CREATE) and m.organization.artifacts_enabled
    ]


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    orgs = _orgs_where_user_can_create(request.user)
    if request.method == "POST":
        try:
            file = upload_from_request(request)  # first: it may have been refused mid-stream
            org = next((o for o in orgs if o.slug == request.POST.get("org")), None)
            if org is None:
                raise NotFound("Choose an organisation you may publish in.")
            result = services.artifact_create(
                user=request.user,
                organization=org,
                upload=file,
                title=request.POST.get("title"),
                visibility=request.POST.get("visibility"),
                message=request.POST.get("message"),
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return render(
                request,
                "artifacts/upload.html",
                {"orgs": orgs, "visibilities": Visibility.choices},
                status=exc.status,
            )
        for warning in result.warnings:
            messages.warning(request, warning)
        return redirect(artifact_url(result.artifact))
    return render(
        request, "artifacts/upload.html", {"orgs": orgs, "visibilities": Visibility.choices}
    )


@login_required
def viewer(request, artifact_id, number=None):
    try:
        artifact = _visible_or_404(request, artifact_id)
    except Http404:
        # A member of the artifact's org may ask its author; anyone else gets the 404.
        if artifact_requestable(request.user, artifact_id) is None:
            raise
        return render(
            request, "artifacts/request_access.html", {"artifact_id": artifact_id}, status=403
        )
    picked = whole_number(request.GET.get("v"))  # the version picker's form; bad: ignored
    if number is None and picked is not None:
        return redirect("viewer-version", artifact.pk, picked)
    version = _version_or_404(artifact, number)
    open_note(request.user, artifact, version.number)
    rendering = _render_pending(artifact, version)
    frame_src = _frame_url(request, artifact, version, pending=rendering)
    context = {
        "rendering": rendering,
        "artifact": artifact,
        "version": version,
        "versions": artifact.versions.select_related("created_by").order_by("-number"),
        "pinned_number": number,
        "frame_src": frame_src,
        "frame_sandbox": _frame_sandbox(artifact, version, pending=rendering),
        "stable_url": artifact_url(artifact),
        # Only the stable URL follows new versions; a versioned URL never moves.
        "live_url": f"{reverse('live', args=[artifact.pk])}?v={version.number}"
        if number is None
        else "",
        "is_author": artifact.author_id == request.user.pk,
        "can_keep": services.can_pin(request.user, artifact),
        "expires_at": artifact_expires_at(artifact),
        "audience": artifact_audience(artifact),
        "org_groups": artifact.organization.groups.order_by("slug"),
        "visibilities": Visibility.choices,
        "collections": artifact.collections.order_by("slug"),
        **_readers_context(request.user, artifact),
    }
    return render(request, "artifacts/viewer.html", context)


READERS_SHOWN = 20  # the viewer's list of who opened it; the API pages through them all


def _readers_context(user, artifact) -> dict:
    """Who opened it, for the author and the org's admins only."""
    if not views_visible_to(user, artifact):
        return {}
    counts, versions = views_summary(artifact)
    return {
        "view_counts": counts,
        "view_versions": versions,
        "readers": views_of(artifact)[:READERS_SHOWN],
    }


def _source_lines(version) -> list[str]:
    # A diff needs both texts whole; bounded by the 16 MiB limit per version.
    with storage.blob_open(version.blob_id) as fh:
        return fh.read().decode("utf-8").splitlines()


@login_required
def diff(request, artifact_id):
    """Source (unified or side by side) and rendered diff between two versions."""
    artifact = _visible_or_404(request, artifact_id)
    try:
        new_no = _int_or_none(request.GET.get("to")) or artifact.latest_version
        old_no = _int_or_none(request.GET.get("from")) or max(new_no - 1, 1)
        old, new = version_get(artifact, old_no), version_get(artifact, new_no)
    except (NotFound, ServiceError) as exc:
        raise Http404 from exc
    mode = request.GET.get("mode") if request.GET.get("mode") in MODES else "unified"
    result = diffs.diff_lines(_source_lines(old), _source_lines(new))
    context = {
        "artifact": artifact,
        "old": old,
        "new": new,
        "versions": artifact.versions.order_by("-number"),
        "mode": mode,
        "modes": MODES,
        "diff": result,
        "unified_hunks": [diffs.unified(h) for h in result.hunks] if mode == "unified" else [],
        "frames": [_frame(request, artifact, v) for v in (old, new)] if mode == "rendered" else [],
    }
    return render(request, "artifacts/diff.html", context)


MODES = {"unified": "Source, unified", "split": "Source, side by side", "rendered": "Rendered"}


def _render_pending(artifact, version) -> bool:
    """A Markdown version whose page is not rendered yet (one look at storage)."""
    return artifact.format == Format.MARKDOWN and not storage.rendered_exists(version.blob_id)


def _frame_url(request, artifact, version, *, pending: bool | None = None) -> str:
    """A fresh grant's URL for a frame of this version. A Markdown page not rendered yet
    (`pending`, looked up when not given) is asked for here, once at a time: the sandbox
    shows "Rendering…" until it is there."""
    if _render_pending(artifact, version) if pending is None else pending:
        services.blob_render_request(version.blob_id)
    token = grant_mint(
        user=request.user,
        session_key=request.session.session_key,
        artifact=artifact,
        version=version,
    )
    return grant_url(token)


def _frame(request, artifact, version) -> dict:
    pending = _render_pending(artifact, version)
    return {
        "version": version,
        "src": _frame_url(request, artifact, version, pending=pending),
        "sandbox": _frame_sandbox(artifact, version, pending=pending),
    }


def _frame_sandbox(artifact, version, *, pending: bool) -> str:
    """The frame's sandbox: scripts for HTML where the org allows them, and for a Markdown
    page that draws diagrams with the product's one script, whose CSP allows that script
    alone (artifacts.sandbox.views). A page still rendering may turn out to have some."""
    diagrams = artifact.format == Format.MARKDOWN and (
        pending or rendered_script_hash(version.blob_id) != ""
    )
    if artifact.scripts_allowed or diagrams:
        return "allow-scripts allow-forms allow-downloads"
    return "allow-forms allow-downloads"


@login_required
@require_POST
def request_access(request, artifact_id):
    artifact = artifact_requestable(request.user, artifact_id)
    if artifact is None:
        raise Http404
    try:
        sent = services.access_request(user=request.user, artifact=artifact)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "The author has been asked."
            if sent
            else "You asked already; the author has been told.",
        )
    return redirect("home")


@login_required
def live(request, artifact_id):
    """Polled by the viewer on the stable URL: 204 while the shown version is still ?v=,
    else the new version and a fresh grant for the frame. Two queries when unchanged."""
    artifact = _visible_or_404(request, artifact_id)
    if request.GET.get("v") == str(artifact.shown_version):
        return HttpResponse(status=204)
    version = version_get(artifact)
    return JsonResponse(
        {"version": version.number, "frame_src": _frame_url(request, artifact, version)}
    )


@login_required
@require_POST
def restore(request, artifact_id, number):
    artifact = _visible_or_404(request, artifact_id)
    try:
        version = services.version_restore(user=request.user, artifact=artifact, number=number)
        messages.success(request, f"Restored v{number} as v{version.number}.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(artifact_url(artifact))


@login_required
def rendered(request, artifact_id, number):
    """Polled by the viewer while a big Markdown version renders in the background."""
    artifact = _visible_or_404(request, artifact_id)
    version = _version_or_404(artifact, number)
    ready = storage.rendered_exists(version.blob_id)
    if not ready:  # asked again while it waits: a broker that was down may be back
        services.blob_render_request(version.blob_id)
    return JsonResponse({"ready": ready})


def csrf_failure(request, reason=""):
    """A refused upload may be refused before its CSRF token was read: report the upload."""
    error = getattr(request, "upload_error", None)
    if error is None:
        return django_csrf_failure(request, reason=reason)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": error.code, "message": error.message}}, status=error.status
        )
    messages.error(request, error.message)
    return render(
        request,
        "artifacts/upload.html",
        {"orgs": _orgs_where_user_can_create(request.user), "visibilities": Visibility.choices},
        status=error.status,
    )


@login_required
def source(request, artifact_id, number):
    artifact = _visible_or_404(request, artifact_id)
    version = _version_or_404(artifact, number)
    return source_response(request, artifact, version)


def _emails(value: str) -> list[str]:
    return [e for e in re.split(r"[,\s]+", value) if e]


def _int_or_none(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    number = whole_number(value)
    if number is None:
        raise ServiceError(f"Not a number: {value!r}.")
    return number


@login_required
@require_POST
def settings_update(request, artifact_id):
    artifact = _visible_or_404(request, artifact_id)
    try:
        services.artifact_update(
            user=request.user,
            artifact=artifact,
            title=request.POST.get("title"),
            visibility=request.POST.get("visibility"),
            viewer_version=_int_or_none(request.POST.get("viewer_version")),
            members=_emails(request.POST.get("members")) if "members" in request.POST else None,
            groups=request.POST.getlist("groups") if "share_form" in request.POST else None,
        )
        messages.success(request, "Saved.")
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(artifact_url(artifact))


@login_required
@require_POST
def keep(request, artifact_id):
    """Pin against retention (or let the policy apply again): the author or an admin."""
    artifact = _visible_or_404(request, artifact_id)
    try:
        services.artifact_pin(
            user=request.user, artifact=artifact, pinned=request.POST.get("pinned") == "1"
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(artifact_url(artifact))


@login_required
@require_POST
def collections_set(request, artifact_id):
    """File the artifact in the collections named (comma-separated; new ones are made):
    the author or an admin."""
    artifact = _visible_or_404(request, artifact_id)
    names = [n for n in request.POST.get("collections", "").split(",") if n.strip()]
    try:
        artifact_collections_set(user=request.user, artifact=artifact, names=names)
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(artifact_url(artifact))


@login_required
@require_POST
def delete(request, artifact_id):
    artifact = _visible_or_404(request, artifact_id)
    try:
        services.artifact_delete(user=request.user, artifact=artifact)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect(artifact_url(artifact))
    messages.success(request, f"Deleted “{artifact.title}”.")
    return redirect("home")
