from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from .api import api

admin.site.site_header = admin.site.site_title = "党群服务平台 管理后台"
admin.site.index_title = "后台数据管理"

urlpatterns = [
    path("", include("dangqun.core.urls")),
    path("accounts/", include("dangqun.accounts.urls")),
    path("orgs/", include("dangqun.orgs.urls")),
    path("members/", include("dangqun.members.urls")),
    path("meetings/", include("dangqun.meetings.urls")),
    path("services/", include("dangqun.onestop.urls")),
    path("certs/", include("dangqun.certs.urls")),
    path("learning/", include("dangqun.learning.urls")),
    path("feedback/", include("dangqun.feedback.urls")),
    path("insights/", include("dangqun.insights.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
