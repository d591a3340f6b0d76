from django.urls import path

from . import views

app_name = "feedback"
urlpatterns = [
    path("", views.index, name="index"),
    path("rate/<int:pk>/", views.rate_case, name="rate"),
    path("v/<str:token>/", views.rate_visit, name="rate_visit"),
    path("ratings/<int:pk>/", views.rating_detail, name="rating"),
    path("fixes/<int:pk>/", views.fix_detail, name="fix"),
    path("appeals/<int:pk>/", views.appeal_detail, name="appeal"),
    path("hotline/", views.hotline, name="hotline"),
    path("visits/new/", views.record_visit, name="visit_new"),
    path("visits/<int:pk>/receipt/", views.receipt, name="receipt"),
    path("messages/", views.message_list, name="messages"),
    path("messages/<int:pk>/", views.message_detail, name="message"),
    path("messages/<int:pk>/merge/", views.message_merge, name="message_merge"),
]
