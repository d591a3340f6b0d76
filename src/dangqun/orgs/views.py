"""Organization pages: the tree, one organization, the staff edit form.

Thin views (DESIGN.md): scope with queries.access_organization (404 outside the user's
subtree), read through queries, change through actions.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from dangqun.core.errors import NotFound, RuleViolation
from dangqun.core.permissions import has_perm

from . import queries
from .actions import do_update_organization
from .forms import OrganizationForm
from .models import Organization


def _visible(request: HttpRequest, pk: int) -> Organization:
    try:
        return queries.access_organization(request.user, pk)
    except NotFound:
        raise Http404 from None


@login_required
@require_safe
def tree(request: HttpRequest) -> HttpResponse:
    """The part of the tree the user may see, as nested lists, in one query."""
    if not has_perm(request.user, "orgs.view"):
        raise PermissionDenied
    rows = queries.visible_tree(request.user)
    return render(request, "orgs/tree.html", {"rows": rows, "tree_end": queries.tree_end(rows)})


@login_required
@require_safe
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    org = _visible(request, pk)
    user = request.user
    # Ancestors above the user's scope are named but not linked (they would answer 404).
    breadcrumb = [(a, has_perm(user, "orgs.view", a)) for a in queries.ancestors(org)]
    facts = queries.org_facts(org)
    return render(
        request,
        "orgs/detail.html",
        {
            "org": org,
            "breadcrumb": breadcrumb,
            "children": list(org.children.all()),
            "facts": facts,
            "aggregated": facts.members != org.member_count or facts.full_members != org.full_members,
            "warnings": queries.org_warnings(org, facts),
            "can_edit": has_perm(user, "orgs.change", org),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff edit: only an administrator whose subtree holds the organization (others: 403)."""
    org = _visible(request, pk)
    if not has_perm(request.user, "orgs.change", org):
        raise PermissionDenied
    form = OrganizationForm(request.POST or None, instance=org)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if not changes:
            messages.info(request, _("没有修改。"))
            return redirect("orgs:detail", pk=org.pk)
        try:
            do_update_organization(org, actor=request.user, **changes)
        except RuleViolation as exc:
            org.refresh_from_db()  # the action set the values before it refused them
            for violation in exc.violations:
                form.add_error(violation.field if violation.field in form.fields else None, violation.message)
        except ValidationError as exc:
            org.refresh_from_db()
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("已保存“%(name)s”。") % {"name": org.name})
            return redirect("orgs:detail", pk=org.pk)
    return render(request, "orgs/edit.html", {"org": org, "form": form})
