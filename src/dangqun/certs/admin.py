"""Certificates in the admin: read-only (issue and revoke go through certs.actions)."""

from django.contrib import admin

from .models import Certificate, SerialCounter


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    list_display = ["identifier", "type_name", "issuer_name", "holder_masked", "issued_at", "status"]
    list_filter = ["status", "type_code"]
    search_fields = ["identifier", "source"]
    exclude = ["holder_name", "holder_id_number"]  # personal data stays off the admin screens
    list_select_related = ["issuer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SerialCounter)
class SerialCounterAdmin(admin.ModelAdmin):
    list_display = ["issuer_credit_code", "type_code", "last"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
