"""App-host URLs of artifacts (the sandbox host has config/urls_sandbox.py)."""

from django.urls import path

from . import views
from .retention import views as retention_views

urlpatterns = [
    path("", views.home, name="home"),
    path("upload/", views.upload, name="upload"),
    path("a/<str:artifact_id>/", views.viewer, name="viewer"),
    path("a/<str:artifact_id>/v/<int:number>/", views.viewer, name="viewer-version"),
    path("a/<str:artifact_id>/v/<int:number>/source", views.source, name="source"),
    path("a/<str:artifact_id>/v/<int:number>/rendered", views.rendered, name="rendered"),
    path("a/<str:artifact_id>/live", views.live, name="live"),
    path("a/<str:artifact_id>/request-access", views.request_access, name="request-access"),
    path("a/<str:artifact_id>/diff", views.diff, name="diff"),
    path("a/<str:artifact_id>/v/<int:number>/restore", views.restore, name="restore"),
    path("a/<str:artifact_id>/settings", views.settings_update, name="artifact-settings"),
    path("a/<str:artifact_id>/delete", views.delete, name="artifact-delete"),
    path("a/<str:artifact_id>/keep", views.keep, name="artifact-keep"),
    path("a/<str:artifact_id>/collections", views.collections_set, name="artifact-collections"),
    path("org/<slug:slug>/admin/retention/", retention_views.retention, name="org-retention"),
    path(
        "org/<slug:slug>/admin/retention/policy",
        retention_views.policy_save,
        name="org-retention-policy",
    ),
    path(
        "org/<slug:slug>/admin/retention/restore",
        retention_views.trash_restore,
        name="org-trash-restore",
    ),
]
