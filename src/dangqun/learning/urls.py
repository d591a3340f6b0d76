from django.urls import path  # noqa: F401  (routes are added as the app's pages land)

app_name = "learning"
urlpatterns: list = []
