from django.urls import path

from . import views, views_dues, views_transfers

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
    path("<int:pk>/probation/cancel/", views.cancel_probation, name="probation_cancel"),
    path("<int:pk>/probation/extend/", views.extend_probation, name="probation_extend"),
    path("<int:pk>/evidence/<int:evidence_id>/", views.evidence, name="evidence"),
    # Transfers, introduction letters, flowing members (views_transfers.py)
    path("branch/<int:org_id>/transfers/", views_transfers.branch, name="transfers_branch"),
    path("<int:pk>/relation/", views_transfers.relation, name="relation"),
    path("<int:pk>/transfer/", views_transfers.transfer_new, name="transfer_new"),
    path("<int:pk>/letter/", views_transfers.letter_new, name="letter_new"),
    path("<int:pk>/flowing/", views_transfers.flowing_new, name="flowing_new"),
    path("<int:pk>/graduate/", views_transfers.graduate, name="graduate"),
    path("transfers/<int:pk>/", views_transfers.transfer, name="transfer"),
    path("transfers/<int:pk>/accept/", views_transfers.transfer_accept, name="transfer_accept"),
    path("transfers/<int:pk>/return/", views_transfers.transfer_return, name="transfer_return"),
    path("transfers/<int:pk>/cancel/", views_transfers.transfer_cancel, name="transfer_cancel"),
    path("letters/<int:pk>/", views_transfers.letter, name="letter"),
    path("letters/<int:pk>/pdf/", views_transfers.letter_pdf, name="letter_pdf"),
    path("letters/<int:pk>/receipt/", views_transfers.letter_receipt, name="letter_receipt"),
    path("letters/<int:pk>/cancel/", views_transfers.letter_cancel, name="letter_cancel"),
    path("flowing/<int:pk>/", views_transfers.flowing, name="flowing"),
    path("flowing/<int:pk>/contacts/", views_transfers.flowing_contact, name="flowing_contact"),
    path("flowing/<int:pk>/end/", views_transfers.flowing_end, name="flowing_end"),
    # Dues (views_dues.py)
    path("branch/<int:org_id>/dues/", views_dues.ledger, name="dues_ledger"),
    path("branch/<int:org_id>/dues/arrears/", views_dues.arrears, name="dues_arrears"),
    path("<int:pk>/dues/", views_dues.member_dues, name="dues_member"),
    path("<int:pk>/dues/rate/", views_dues.set_rate, name="dues_rate"),
    path("<int:pk>/dues/payments/", views_dues.record_payment, name="dues_payment"),
]
