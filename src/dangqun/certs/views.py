"""Public verification pages (anyone, rate-limited per address) and the staff PDF download.

Thin views (DESIGN.md): the checks live in queries.verify_identifier / verify_pdf, the same
functions the API calls.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from dangqun.core.errors import NotFound

from . import conf, queries
from .forms import VerifyUploadForm
from .throttle import RateLimited, hit


def _limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = render(
        request, "certs/verify.html", {"form": VerifyUploadForm(), "limited": exc.message}, status=429
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


@require_http_methods(["GET", "POST"])
def verify_form(request: HttpRequest) -> HttpResponse:
    """GET: the form (an identifier typed in goes to its page). POST: check an uploaded PDF."""
    if request.method == "GET":
        typed = request.GET.get("identifier", "").strip()
        if typed:
            return redirect("certs:verify", identifier=typed[:200])
        return render(request, "certs/verify.html", {"form": VerifyUploadForm()})
    try:
        hit(request, "verify-upload", conf.upload_rate())
    except RateLimited as exc:
        return _limited(request, exc)
    form = VerifyUploadForm(request.POST, request.FILES)
    result = None
    if form.is_valid():
        upload = form.cleaned_data["pdf"]
        limit = conf.max_upload_bytes()
        content = upload.read(limit + 1)
        if len(content) > limit:
            form.add_error("pdf", _("文件过大（最大 %(mb)d MB）。") % {"mb": limit // (1024 * 1024)})
        elif not queries.looks_like_pdf(content[:8]):
            form.add_error("pdf", _("上传的文件不是 PDF。"))
        else:
            result = queries.verify_pdf(content, form.cleaned_data["identifier"])
    status = 200 if result is not None else 422
    return render(request, "certs/verify.html", {"form": form, "result": result}, status=status)


@require_safe
def verify(request: HttpRequest, identifier: str) -> HttpResponse:
    """The page a certificate's QR code opens."""
    try:
        hit(request, "verify", conf.verify_rate())
    except RateLimited as exc:
        return _limited(request, exc)
    result = queries.verify_identifier(identifier)
    return render(request, "certs/verify.html", {"form": VerifyUploadForm(), "result": result})


@login_required
@require_safe
def download(request: HttpRequest, identifier: str) -> FileResponse:
    """The PDF as issued, for staff with onestop.view on the issuer's subtree (others: 404)."""
    try:
        cert = queries.access_certificate(request.user, identifier)
    except NotFound:
        raise Http404 from None
    return FileResponse(
        cert.pdf.open("rb"),
        as_attachment=True,
        filename=f"{cert.identifier}.pdf",
        content_type="application/pdf",
    )
