"""The SCIM 2.0 endpoints, under /scim/v2/ (config/urls.py). Anything else there is a
SCIM 404, so that clients get a SCIM Error body wherever they knock."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config),
    path("ResourceTypes", views.resource_types),
    path("ResourceTypes/<str:resource_id>", views.resource_types),
    path("Schemas", views.schemas),
    path("Schemas/<str:resource_id>", views.schemas),
    path("Users", views.users),
    path("Users/.search", views.users_search),
    path("Users/<str:scim_id>", views.user),
    path("Groups", views.groups),
    path("Groups/.search", views.groups_search),
    path("Groups/<str:scim_id>", views.group),
    path(".search", views.root_search),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
