"""App-host URLs of orgs."""

from django.urls import path

from . import views

urlpatterns = [
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke", views.token_delete, name="token-revoke"),
    path("notices/<int:notice_id>/dismiss", views.notice_dismiss, name="notice-dismiss"),
    path("invite/<str:secret>/", views.invitation, name="invitation"),
    path("org/<slug:slug>/admin/", views.console, name="org-console"),
    path("org/<slug:slug>/admin/audit/", views.audit, name="org-audit"),
]
