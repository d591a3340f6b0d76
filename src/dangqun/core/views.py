"""The shell's own pages: home, notifications, the elder-mode switch."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from .context_processors import nav_items, unread_count
from .middleware import ELDER_COOKIE
from .models import Notification

ELDER_COOKIE_AGE = 365 * 24 * 3600  # a year: an older visitor should not have to switch again


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """Where to go back to: `next` or the referring page, only if it is on this site."""
    for candidate in (request.POST.get("next"), request.GET.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return default


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html", {"entries": nav_items(request.user)})


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch elder mode (适老化) on or off: a plain form, works without JavaScript.

    The choice is kept in a cookie for a year (so it holds before signing in) and, for a
    signed-in user, in the profile (so it follows them to another device).
    """
    on = request.POST.get("elder") == "1"
    response = HttpResponseRedirect(safe_next(request))
    response.set_cookie(
        ELDER_COOKIE,
        "1" if on else "0",
        max_age=ELDER_COOKIE_AGE,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
    )
    user = request.user
    if user.is_authenticated and user.elder_mode != on:
        user.elder_mode = on
        user.save(update_fields=["elder_mode"])
    return response


@login_required
@require_safe
def notifications(request: HttpRequest) -> HttpResponse:
    """The signed-in user's own notifications, newest first."""
    own = Notification.objects.filter(recipient=request.user)
    page = Paginator(own, 30).get_page(request.GET.get("page"))
    return render(request, "core/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's own notifications as read (someone else's: 404)."""
    note = Notification.objects.filter(recipient=request.user, pk=pk).first()
    if note is None:
        raise Http404
    if note.read_at is None:
        note.read_at = timezone.now()
        note.save(update_fields=["read_at"])
    if request.htmx:
        # The item in place, and the header's unread count out of band.
        return render(
            request,
            "core/partials/notification_read.html",
            {"note": note, "unread_count": unread_count(request.user)},
        )
    return redirect(safe_next(request, default="/notifications/"))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    Notification.objects.filter(recipient=request.user, read_at__isnull=True).update(read_at=timezone.now())
    return redirect(safe_next(request, default="/notifications/"))
