"""Views of the sandbox host. They never touch request.session or request.user: who is
asking is known only from the grant in the URL, re-checked on every request."""

from django.http import HttpResponse

from orgs.errors import ServiceError

from .. import storage
from ..models import Format
from ..rendered_pages import rendered_script_hash
from ..streaming import bytes_response, etag_for
from .compress import served_name, variant_pick
from .grants import grant_redeem
from .serving import not_here_response

# No <meta refresh>: without allow-scripts Chromium refuses it. The viewer page polls
# and reloads the frame with a fresh grant once the page is ready.
RENDERING_PAGE = (
    "<!doctype html><meta charset=utf-8>"
    "<p style='font:16px system-ui;padding:2em'>Rendering this Markdown document…</p>"
)


def content(request, grant):
    # SECURITY: only an iframe navigation gets the bytes; a page opened top-level could
    # navigate itself anywhere, so anything else gets the "open it in the app" page.
    if request.headers.get("Sec-Fetch-Dest") != "iframe" or request.method not in ("GET", "HEAD"):
        return not_here_response()
    try:
        access = grant_redeem(grant)
    except ServiceError:  # not found, or the org turned artifacts off
        return not_here_response()
    sha256 = access.sha256
    markdown = access.format == Format.MARKDOWN
    if markdown and not storage.rendered_exists(sha256):
        # The viewer that minted the grant has asked for the rendering (artifacts.views).
        return HttpResponse(RENDERING_PAGE, status=202, content_type="text/html; charset=utf-8")
    name, encoding = variant_pick(
        served_name(sha256, markdown), request.headers.get("Accept-Encoding", "")
    )
    response = bytes_response(
        request,
        name=name,
        # Strong ETags differ per representation: the Markdown page, each encoding.
        etag=etag_for(sha256, "-".join(filter(None, ["md" if markdown else "", encoding]))),
        content_type="text/html; charset=utf-8",
    )
    if encoding:
        response["Content-Encoding"] = encoding
    # Set on 304s too: a revalidation updates the cached headers, CSP included. Markdown
    # never runs the author's script (SPEC §2.7); a page with diagrams runs the product's
    # one, allowed by its hash (artifacts.diagrams).
    response.sandbox_scripts = access.scripts_allowed and not markdown
    if markdown:
        response.sandbox_script_hash = rendered_script_hash(sha256)
    return response


def not_here(request, *args, **kwargs):
    return not_here_response()


def not_found(request, exception=None):
    return not_here_response()


def server_error(request):
    return not_here_response(status=500)
