from django.urls import path

from . import views

app_name = "members"
urlpatterns = [
    path("", views.index, name="index"),
    path("mine/", views.mine, name="mine"),
    path("register/", views.register, name="register"),
    path("import/", views.import_upload, name="import"),
    path("import/confirm/", views.import_confirm, name="import_confirm"),
    path("branch/<int:org_id>/", views.roster, name="branch"),
    path("branch/<int:org_id>/export/", views.roster_export, name="branch_export"),
    path("branch/<int:org_id>/due/", views.due, name="due"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/steps/", views.record_step, name="record_step"),
    path("<int:pk>/evidence/<int:evidence_id>/", views.evidence, name="evidence"),
]
