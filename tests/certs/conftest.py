"""An issuer with a valid credit code, a clean media root, and a helper that issues a certificate."""

from __future__ import annotations

from datetime import date

import pytest

from dangqun.certs.actions import do_issue_certificate
from dangqun.certs.models import Certificate
from dangqun.core.validators import credit_check_char
from dangqun.orgs.actions import do_update_organization

DEPT_CODE = "11110105MB000001" + "0"
DEPT_CREDIT = DEPT_CODE + credit_check_char(DEPT_CODE)
HALL_CODE = "11110105MB000002" + "0"
HALL_CREDIT = HALL_CODE + credit_check_char(HALL_CODE)
HOLDER = {"name": "张小明", "id_number": "11010519491231002X"}
DATA = {"保障人数": "3 人", "月保障金额": "1860.00 元", "家庭住址": "和平社区幸福路 12 号", "首次申请": True}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"  # demo signing keys are generated here


@pytest.fixture
def issuer(tree, root_admin):
    """社会保障科 with a credit code: street and department administrators cover it."""
    return do_update_organization(tree.department, actor=root_admin, credit_code=DEPT_CREDIT)


@pytest.fixture
def issue(issuer, street_admin):
    def make(**kw) -> Certificate:
        kw.setdefault("actor", street_admin)
        return do_issue_certificate(
            kw.pop("issuer", issuer),
            kw.pop("type_code", "ZDSHBZZ"),
            kw.pop("holder", HOLDER),
            kw.pop("data", DATA),
            **kw,
        )

    return make


@pytest.fixture
def cert(issue) -> Certificate:
    return issue(source="onestop.application:2026-000123", valid_until=date(2099, 12, 31))
