from django.urls import path, re_path

from . import views

app_name = "insights"
urlpatterns = [
    path("", views.index, name="index"),
    path("org/<int:org_id>/", views.dashboard, name="dashboard"),
    re_path(
        r"^org/(?P<org_id>[0-9]+)/export/(?P<section>[a-z_]+)\.xlsx$", views.dashboard_export, name="export"
    ),
    path("public/", views.public, name="public"),
    re_path(r"^public/(?P<month>[0-9]{4}-[0-9]{2})/$", views.public, name="public_month"),
    re_path(r"^public/(?P<month>[0-9]{4}-[0-9]{2})\.xlsx$", views.public_export, name="public_export"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("suggestions/<int:pk>/accept/", views.accept, name="accept"),
    path("suggestions/<int:pk>/dismiss/", views.dismiss, name="dismiss"),
    path("tasks/<int:pk>/", views.update_task, name="task"),
]
