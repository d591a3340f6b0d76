from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/edit/", views.meeting_edit, name="edit"),
    path("<int:pk>/attendance/", views.meeting_attendance, name="attendance"),
    path("<int:pk>/close/", views.meeting_close, name="close"),
    path("<int:pk>/cancel/", views.meeting_cancel, name="cancel"),
    path("<int:pk>/attachments/", views.meeting_attach, name="attach"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:pk>/qr/", views.qr_page, name="qr"),
    path("<int:pk>/qr/code/", views.qr_code, name="qr_code"),
    path("<int:pk>/sign-in/", views.sign_in, name="sign_in"),
    path("<int:pk>/votes/new/", views.vote_create, name="vote_create"),
    path("<int:pk>/elections/new/", views.election_create, name="election_create"),
    path("votes/<int:pk>/", views.vote_detail, name="vote"),
    path("votes/<int:pk>/cast/", views.vote_cast, name="vote_cast"),
    path("votes/<int:pk>/close/", views.vote_close, name="vote_close"),
    path("elections/<int:pk>/", views.election_detail, name="election"),
    path("elections/<int:pk>/cast/", views.election_cast, name="election_cast"),
    path("elections/<int:pk>/close/", views.election_close, name="election_close"),
    path("compliance/", views.compliance, name="compliance"),
    path("decisions/", views.decision_list, name="decisions"),
    path("decisions/new/", views.decision_create, name="decision_create"),
    path("decisions/<int:pk>/", views.decision_detail, name="decision"),
    path("decisions/<int:pk>/notice/<str:which>/", views.decision_notice, name="decision_notice"),
    path("appraisals/", views.appraisal_list, name="appraisals"),
    path("appraisals/new/", views.appraisal_create, name="appraisal_create"),
    path("appraisals/<int:pk>/", views.appraisal_detail, name="appraisal"),
    path("probations/", views.probations, name="probations"),
]
