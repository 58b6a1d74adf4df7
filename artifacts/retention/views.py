"""The org admin's retention page: the policy, its preview at any date, and the trash."""

from datetime import datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from orgs.errors import ServiceError
from orgs.services import RETENTION, org_settings_update
from orgs.views import org_for_admin

from ..selectors import artifacts_trashed
from ..services import artifact_trash_restore
from .policy import retention_preview, trash_entry

TRASH_ROWS = 200
POLICY_LABELS = {
    "retention_unshared_days": "Delete unshared artifacts this many days after their last version",
    "retention_shared_days": "Delete shared artifacts this many days after their last version",
    "retention_keep_versions": "Keep at most this many versions of each artifact",
    "retention_notice_days": "Tell authors this many days before their artifact expires",
    "retention_grace_days": "Keep deleted artifacts restorable in the trash for (days)",
    "retention_view_days": "Keep who opened each artifact, and when, for (days)",
}


def _preview_moment(value: str) -> datetime | None:
    """A date from the form ("2027-01-31") as the end of that day; None for now/invalid."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 (made aware below)
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max))


@login_required
@require_POST
def policy_save(request, slug):
    org, _ = org_for_admin(request, slug)
    try:
        org_settings_update(
            organization=org,
            actor=request.user,
            # A field the form did not send (a page from before it had one) is unchanged.
            **{name: request.POST[name].strip() for name in RETENTION if name in request.POST},
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Retention policy saved.")
    return redirect("org-retention", slug=org.slug)


@login_required
@require_POST
def trash_restore(request, slug):
    org, _ = org_for_admin(request, slug)
    try:
        restored = artifact_trash_restore(
            user=request.user, organization=org, artifact_id=request.POST.get("artifact", "")
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Restored “{restored.title}”.")
    return redirect("org-retention", slug=org.slug)


@login_required
@require_safe  # the policy and the restore post to their own views above
def retention(request, slug):
    """The policy, what it would do now or on a chosen date, and the trash."""
    org, _ = org_for_admin(request, slug)
    on = request.GET.get("on", "")
    as_of = _preview_moment(on)
    if on and as_of is None:
        messages.error(request, "Preview date: use YYYY-MM-DD.")
    context = {
        "org": org,
        "preview": retention_preview(org, as_of),
        "preview_date": on if as_of else "",
        "trash": [trash_entry(a) for a in artifacts_trashed(org)[:TRASH_ROWS]],
        "policy": [
            (name, label, getattr(org, name), RETENTION[name][2])
            for name, label in POLICY_LABELS.items()
        ],
    }
    return render(request, "artifacts/retention.html", context)
