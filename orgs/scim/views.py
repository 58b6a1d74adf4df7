"""The SCIM 2.0 endpoints (RFC 7644) under /scim/v2/: discovery, Users and Groups. Each
view authenticates the bearer token (which picks the org), reads the request with
scim2-models, calls a service, and answers application/scim+json; every error, whatever
raised it, is a SCIM Error body."""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.db import IntegrityError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidFilterException,
    InvalidSyntaxException,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    ResponseParameters,
    SCIMException,
    SearchRequest,
    UniquenessException,
)

from ..errors import ServiceError
from . import services
from .filters import filter_query
from .resources import base_url, group_resource, user_resource
from .schemas import MAX_RESULTS, POLICY, PROVIDER, Group, GroupRequest, User, UserRequest
from .selectors import (
    USER_COLUMNS,
    group_columns,
    members_by_group,
    scim_groups,
    scim_users,
    uuid_or_none,
)

CONTENT_TYPE = "application/scim+json"
MAX_FILTER = 2000
logger = logging.getLogger(__name__)
_QUERY_PARAMETERS = ("filter", "startIndex", "count", "attributes", "excludedAttributes")


def _response(data: dict, status: int = 200, **headers) -> JsonResponse:
    return JsonResponse(data, status=status, content_type=CONTENT_TYPE, headers=headers)


def _error(status: int, detail: str, **headers) -> JsonResponse:
    return _response(Error(status=status, detail=detail).model_dump(), status, **headers)


def _scim_error(error: Error) -> JsonResponse:
    return _response(error.model_dump(), int(error.status))


def scim_endpoint(*methods: str):
    """The token's org or 401; the method or 405; any error as a SCIM Error. The view gets
    the token as `request.scim_token`."""

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            token = (
                services.scim_token_authenticate(secret.strip())
                if scheme.lower() == "bearer"
                else None
            )
            if token is None:
                return _error(
                    401, "A valid SCIM bearer token is required.", **{"WWW-Authenticate": "Bearer"}
                )
            if methods and request.method not in methods:
                return _error(
                    405, f"{request.method} is not allowed here.", Allow=", ".join(methods)
                )
            request.scim_token = token
            try:
                with POLICY:  # what the providers may depart from the RFCs (schemas.POLICY)
                    return view(request, *args, **kwargs)
            except ValidationError as exc:
                return _scim_error(Error.from_validation_error(exc.errors()[0]))
            except SCIMException as exc:
                return _scim_error(exc.to_error())
            except ServiceError as exc:  # the orgs services' rules (the last owner stays…)
                return _error(exc.status, exc.message)
            except IntegrityError:  # two writes of one userName or email at once
                return _scim_error(
                    UniquenessException(detail="Another write took this value first.").to_error()
                )
            except Exception:  # still a SCIM body, for a client that parses every answer
                logger.exception("SCIM request failed: %s %s", request.method, request.path)
                return _error(500, "The server failed to handle this request.")

        return wrapped

    return decorator


def _body(request) -> dict:
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidSyntaxException(detail="The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    return body


def _query(request) -> dict:
    # Parameters SCIM does not define are ignored, as any web server would.
    return {k: request.GET[k] for k in _QUERY_PARAMETERS if k in request.GET}


def _response_parameters(request) -> ResponseParameters:
    query = _query(request)
    return ResponseParameters.model_validate(
        {k: query[k] for k in ("attributes", "excludedAttributes") if k in query}
    )


def _dump(resource, context: Context, parameters: ResponseParameters | None = None) -> dict:
    return resource.model_dump(scim_ctx=context, response_parameters=parameters)


# Discovery (RFC 7644 §4)


@scim_endpoint("GET")
def service_provider_config(request):
    config = PROVIDER.config.model_copy()
    config.meta = {
        "resourceType": "ServiceProviderConfig",
        "location": request.build_absolute_uri(),
    }
    return _response(_dump(config, Context.RESOURCE_QUERY_RESPONSE))


def _discovered(kind: str, items) -> list:
    for item in items:
        item.meta = {"resourceType": kind, "location": f"{base_url()}/{kind}s/{item.id}"}
    return list(items)


def _listed(model, resources) -> JsonResponse:
    response = ListResponse[model](
        total_results=len(resources),
        start_index=1,
        items_per_page=len(resources),
        resources=resources,
    )
    return _response(_dump(response, Context.RESOURCE_QUERY_RESPONSE))


def _one_of(resources, resource_id: str):
    for resource in resources:
        if resource.id == resource_id:
            return _response(_dump(resource, Context.RESOURCE_QUERY_RESPONSE))
    raise NotFoundException(detail=f"No {resource_id} here.")


def _resource_types():
    return _discovered("ResourceType", [r.model_copy() for r in PROVIDER.resource_types])


def _schemas():
    return _discovered("Schema", [s.model_copy() for s in PROVIDER.schemas])


@scim_endpoint("GET")
def resource_types(request, resource_id: str | None = None):
    items = _resource_types()
    if resource_id is not None:
        return _one_of(items, resource_id)
    return _listed(type(items[0]), items)


@scim_endpoint("GET")
def schemas(request, resource_id: str | None = None):
    items = _schemas()
    if resource_id is not None:
        return _one_of(items, resource_id)
    return _listed(type(items[0]), items)


# Users and Groups (RFC 7644 §3)


def _search(request, model) -> SearchRequest:
    data = _body(request) if request.method == "POST" else _query(request)  # POST: /.search
    # A filter longer than any a provider sends is refused before it is parsed, or run.
    if len(str(data.get("filter") or "")) > MAX_FILTER:
        raise InvalidFilterException(detail=f"The filter is longer than {MAX_FILTER} characters.")
    if request.method == "POST":
        return SearchRequest[model].model_validate(data, scim_ctx=Context.SEARCH_REQUEST)
    return SearchRequest[model].model_validate(data)


def _page(queryset, search: SearchRequest):
    """One page of the query, as startIndex and count ask, at most MAX_RESULTS."""
    start = search.start_index or 1
    count = MAX_RESULTS if search.count is None else min(search.count, MAX_RESULTS)
    total = queryset.count()
    if start > total:  # past the end (an index the database cannot even hold, say)
        return start, total, []
    return start, total, list(queryset[start - 1 : start - 1 + count])


def _list_response(model, resources, start: int, total: int, search: SearchRequest):
    response = ListResponse[model](
        total_results=total,
        start_index=start,
        items_per_page=len(resources),
        resources=resources,
    )
    return _response(_dump(response, Context.SEARCH_RESPONSE, search))


@scim_endpoint("GET", "POST")
def users(request):
    if request.method == "GET":
        return _users_list(request)
    resource = UserRequest.model_validate(
        _body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
    )
    if resource.active is None:
        # A new user is active unless the provider says otherwise (a server's default,
        # RFC 7644 §3.3); unassigned is what a later PATCH "remove" leaves.
        resource.active = True
    scim_user = services.scim_user_create(token=request.scim_token, resource=resource)
    return _user_response(request, scim_user, Context.RESOURCE_CREATION_RESPONSE, 201)


@scim_endpoint("POST")
def users_search(request):
    return _users_list(request)


def _users_list(request):
    token = request.scim_token
    search = _search(request, User)
    queryset = scim_users(token.organization)
    if search.filter is not None:
        queryset = queryset.filter(filter_query(search.filter, USER_COLUMNS, User.__schema__))
    start, total, page = _page(queryset, search)
    resources = [user_resource(s, member=s.member) for s in page]
    return _list_response(User, resources, start, total, search)


def _user_response(request, scim_user, context: Context, status: int = 200) -> JsonResponse:
    scim_user = scim_users(request.scim_token.organization).get(pk=scim_user.pk)
    resource = user_resource(scim_user, member=scim_user.member)
    parameters = _response_parameters(request)
    headers = {"Location": resource.meta.location} if status == 201 else {}
    return _response(_dump(resource, context, parameters), status, **headers)


@scim_endpoint("GET", "POST")
def groups(request):
    if request.method == "GET":
        return _groups_list(request)
    resource = GroupRequest.model_validate(
        _body(request), scim_ctx=Context.RESOURCE_CREATION_REQUEST
    )
    scim_group = services.scim_group_create(token=request.scim_token, resource=resource)
    return _group_response(request, scim_group, Context.RESOURCE_CREATION_RESPONSE, 201)


@scim_endpoint("POST")
def groups_search(request):
    return _groups_list(request)


def _groups_list(request):
    search = _search(request, Group)
    organization = request.scim_token.organization
    queryset = scim_groups(organization)
    if search.filter is not None:
        columns = group_columns(organization)
        queryset = queryset.filter(
            filter_query(search.filter, columns, Group.__schema__)
        ).distinct()
    start, total, page = _page(queryset, search)
    members = members_by_group(organization, page)
    resources = [group_resource(g, members[g.group_id]) for g in page]
    return _list_response(Group, resources, start, total, search)


def _group_response(request, scim_group, context: Context, status: int = 200) -> JsonResponse:
    organization = request.scim_token.organization
    members = members_by_group(organization, [scim_group])[scim_group.group_id]
    resource = group_resource(scim_group, members)
    parameters = _response_parameters(request)
    headers = {"Location": resource.meta.location} if status == 201 else {}
    return _response(_dump(resource, context, parameters), status, **headers)


@dataclass(frozen=True)
class _Kind:
    """What the one-resource endpoints of Users and of Groups differ in."""

    label: str
    model: type
    find: Callable  # (org, pk) -> the row, or None
    respond: Callable  # (request, row, context) -> the response
    replace: Callable  # services: (token=, scim_id=, resource=)
    patch: Callable  # services: (token=, scim_id=, patch=)
    delete: Callable  # services: (token=, scim_id=)


def _one_resource(kind: _Kind):
    """GET, PUT, PATCH and DELETE of one user or group, through its services."""

    @scim_endpoint("GET", "PUT", "PATCH", "DELETE")
    def view(request, scim_id: str):
        token = request.scim_token
        if request.method == "GET":
            row = kind.find(token.organization, uuid_or_none(scim_id))
            if row is None:
                raise NotFoundException(detail=f"No {kind.label} {scim_id}.")
            return kind.respond(request, row, Context.RESOURCE_QUERY_RESPONSE)
        if request.method == "DELETE":
            kind.delete(token=token, scim_id=scim_id)
            return HttpResponse(status=204)
        if request.method == "PUT":
            resource = kind.model.model_validate(
                _body(request), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST
            )
            row = kind.replace(token=token, scim_id=scim_id, resource=resource)
            return kind.respond(request, row, Context.RESOURCE_REPLACEMENT_RESPONSE)
        patch = PatchOp[kind.model].model_validate(
            _body(request), scim_ctx=Context.RESOURCE_PATCH_REQUEST
        )
        row = kind.patch(token=token, scim_id=scim_id, patch=patch)
        return kind.respond(request, row, Context.RESOURCE_PATCH_RESPONSE)

    return view


user = _one_resource(
    _Kind(
        label="user",
        model=UserRequest,
        find=lambda org, pk: scim_users(org).filter(pk=pk).first(),
        respond=_user_response,
        replace=services.scim_user_replace,
        patch=services.scim_user_patch,
        delete=services.scim_user_delete,
    )
)
group = _one_resource(
    _Kind(
        label="group",
        model=GroupRequest,
        find=lambda org, pk: scim_groups(org).filter(pk=pk).first(),
        respond=_group_response,
        replace=services.scim_group_replace,
        patch=services.scim_group_patch,
        delete=services.scim_group_delete,
    )
)


@scim_endpoint("POST")
def root_search(request):
    # RFC 7644 §3.4.3: searching several resource types at once is optional; 501 says so.
    raise NotImplementedException(detail="Search /Users or /Groups instead.")


@scim_endpoint()
def not_found(request, rest: str = ""):
    return _error(404, f"No SCIM endpoint at /{rest}.")
