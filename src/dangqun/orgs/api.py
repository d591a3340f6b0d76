"""Organization tree API: scoped like the pages (401 anonymous, 404 outside the user's scope)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from dangqun.core.schemas import ERRORS

from . import queries
from .models import Organization
from .schemas import OrgDetailOut, OrgOut

router = Router(tags=["orgs"])

MAX_PAGE = 100_000  # × at most 1,000 per page: past any real tree; larger numbers are bad input


class Pages(PageNumberPagination):
    """ninja's page-number pagination with bounded numbers: a huge page is a 422, never an offset
    the database cannot hold."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=1000)


@router.get("/orgs", response={200: list[OrgOut], **ERRORS}, summary="可查看的组织（树序，分页）")
@paginate(Pages, page_size=100)
def list_orgs(request: HttpRequest):
    """Every organization the caller may see, in tree order (by materialized path)."""
    return queries.visible_organizations(request.auth).order_by("path")


@router.get("/orgs/{org_id}", response={200: OrgDetailOut, **ERRORS}, summary="组织详情与设置提示")
def get_org(request: HttpRequest, org_id: int) -> Organization:
    org = queries.access_organization(request.auth, org_id)
    facts = queries.org_facts(org)
    # What the page shows beside the organization, attached for OrgDetailOut to read.
    org.ancestors = list(queries.ancestors(org))
    org.rule_members, org.rule_full_members = facts.members, facts.full_members
    org.warnings = [w.as_dict() for w in queries.org_warnings(org, facts)]
    return org


@router.get("/orgs/{org_id}/subtree", response={200: list[OrgOut], **ERRORS}, summary="组织及其全部下级")
@paginate(Pages, page_size=100)
def org_subtree(request: HttpRequest, org_id: int):
    org: Organization = queries.access_organization(request.auth, org_id)
    return queries.subtree(org).order_by("path")
