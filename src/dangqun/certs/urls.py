from django.urls import path

from . import views

app_name = "certs"
urlpatterns = [
    path("verify/", views.verify_form, name="verify_form"),
    path("verify/<str:identifier>", views.verify, name="verify"),
    path("issued/<str:identifier>/pdf", views.download, name="download"),
]
