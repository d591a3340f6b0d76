from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/2fa/setup/", views.totp_setup_view, name="totp_setup"),
    path("login/2fa/", views.totp_verify_view, name="totp_verify"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile_view, name="profile"),
    path("password/", views.password_change_view, name="password_change"),
    path("my-data/", views.my_data_view, name="my_data"),
    path("my-data/download/", views.my_data_download, name="my_data_download"),
    path("my-data/consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
]
