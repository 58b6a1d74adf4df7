"""The SCIM resources this server serves (RFC 7643), as scim2-models models, and what the
discovery endpoints publish about them.

Two sets of models. `User` and `Group` below hold only the attributes stored here: they
are what /Schemas publishes and what responses are written with. Requests are read with
the RFC's full core models (plus the enterprise extension), because identity providers
send attributes of those schemas that nobody stores (title, phoneNumbers…): those are
accepted and dropped, while an attribute of no schema at all is refused (400)."""

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    EnterpriseUser,
    ETag,
    Filter,
    Mutability,
    Patch,
    Reference,
    Required,
    Resource,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Group as RfcGroup
from scim2_models import User as RfcUser

MAX_RESULTS = 200  # the largest page a list answers (ServiceProviderConfig filter.maxResults)


class UserName(ComplexAttribute):
    """The components of the user's real name."""

    given_name: str | None = None
    family_name: str | None = None


class UserEmail(ComplexAttribute):
    """The user's email: any address Django takes (orgs.scim.services checks it), where
    scim2-models' own refuses the special-use domains (corp.local) of company networks."""

    value: Annotated[str | None, Required.true] = None


class RequestEmail(UserEmail):
    """An email as providers send it: its type and primary are read (the primary one is
    the account's), not stored."""

    display: str | None = None
    type: str | None = None
    primary: bool | None = None


class User(Resource[Any]):
    """User Account"""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    # The provider's identifier for the person: usually their email, which the account is
    # then found by and people sign in with.
    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: UserName | None = None
    # False: no membership in the org (access ends at once); absent or true: a member.
    active: bool | None = None
    # The account's one address: userName's when it is one, else the one given here, so a
    # client whose userName is no address must send it (orgs.scim.services._email_of).
    emails: Annotated[list[UserEmail] | None, Required.true] = None


class GroupMember(ComplexAttribute):
    """A member of the group: one of the org's users."""

    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[Reference["User"] | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class Group(Resource[Any]):
    """Group"""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None


# What requests are read with (see the module docstring).
class UserRequest(RfcUser[EnterpriseUser]):
    """The RFC's user, with emails read as RequestEmail (not refused for corp.local)."""

    emails: list[RequestEmail] | None = None


GroupRequest = RfcGroup

# Tolerances for what Microsoft Entra ID sends (scim2-models documents each): a PATCH
# "remove" whose value picks the entries to remove, and a path filter that matches no
# entry yet (emails[type eq "work"].value) adding that entry.
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=False),
    sort=Sort(supported=False),
    etag=ETag(supported=False),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A SCIM token made in the organisation's admin console "
            "(or by manage.py create_scim_token), as Authorization: Bearer <token>.",
            primary=True,
        )
    ],
)

PROVIDER = ScimProvider(
    models=[User, Group],
    resource_types=[ResourceType.from_resource(User), ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)
