"""App-host URLs of orgs."""

from django.urls import path

from . import cli_wheel, views

urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("cli/<str:filename>", cli_wheel.wheel, name="cli-wheel"),
    path("tokens/<int:token_id>/revoke", views.token_delete, name="token-revoke"),
    path("notices/<int:notice_id>/dismiss", views.notice_dismiss, name="notice-dismiss"),
    path("invite/<str:secret>/", views.invitation, name="invitation"),
    path("org/<slug:slug>/admin/", views.console, name="org-console"),
    path("org/<slug:slug>/admin/settings", views.settings_save, name="org-settings"),
    path("org/<slug:slug>/admin/members/role", views.member_role, name="org-member-role"),
    path("org/<slug:slug>/admin/members/remove", views.member_delete, name="org-member-remove"),
    path("org/<slug:slug>/admin/invitations/new", views.invitation_new, name="org-invite"),
    path(
        "org/<slug:slug>/admin/invitations/revoke",
        views.invitation_delete,
        name="org-invitation-revoke",
    ),
    path("org/<slug:slug>/admin/groups/new", views.group_new, name="org-group-new"),
    path("org/<slug:slug>/admin/groups/members", views.group_members, name="org-group-members"),
    path("org/<slug:slug>/admin/groups/delete", views.group_remove, name="org-group-delete"),
    path("org/<slug:slug>/admin/sso", views.sso_save, name="org-sso"),
    path("org/<slug:slug>/admin/sso/remove", views.sso_remove, name="org-sso-remove"),
    path("org/<slug:slug>/admin/sso/require", views.sso_require, name="org-sso-require"),
    path("org/<slug:slug>/admin/scim/", views.scim, name="org-scim"),
    path(
        "org/<slug:slug>/admin/scim/<int:token_id>/revoke",
        views.scim_token_delete,
        name="org-scim-revoke",
    ),
    path("org/<slug:slug>/admin/audit/", views.audit, name="org-audit"),
]
