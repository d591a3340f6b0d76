from django.urls import path, re_path

from . import views

app_name = "onestop"
urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("track/", views.track, name="track"),
    path("queue/", views.queue, name="queue"),
    path("assist/", views.assist, name="assist"),
    path("applications/", views.mine, name="mine"),
    path("applications/<int:pk>/", views.application, name="application"),
    path("applications/<int:pk>/save/", views.save_draft, name="save"),
    path("applications/<int:pk>/materials/<int:material_id>/", views.material, name="material"),
    path("applications/<int:pk>/submit/", views.submit, name="submit"),
    path("applications/<int:pk>/correct/", views.correct, name="correct"),
    path("applications/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("applications/<int:pk>/act/", views.act, name="act"),
    path("applications/<int:pk>/certificate.pdf", views.certificate_pdf, name="certificate"),
    path("authorizations/<int:pk>/revoke/", views.revoke, name="revoke"),
    re_path(r"^(?P<code>[0-9A-Za-z]{12})/$", views.guide, name="guide"),
    re_path(r"^(?P<code>[0-9A-Za-z]{12})/apply/$", views.apply, name="apply"),
]
