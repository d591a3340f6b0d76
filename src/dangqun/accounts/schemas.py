from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

PK = Annotated[int, Field(ge=1, le=2**63 - 1)]


class TokenIn(Schema):
    username: str = Field(..., min_length=1, max_length=150, description="用户名或手机号")
    password: str = Field(..., min_length=1, max_length=4096)
    totp: str | None = Field(None, max_length=12, description="工作人员须填写认证器上的6位动态口令")


class TokenOut(Schema):
    token: str = Field(..., description="访问令牌，仅此一次显示；请求时放在 Authorization: Bearer 之后")
    expires_at: datetime


class RoleOut(Schema):
    role: str
    role_label: str
    organization_id: int
    organization_name: str


class MeOut(Schema):
    username: str
    full_name: str
    roles: list[RoleOut]
    id_number_masked: str
    phone_masked: str
    two_factor: bool = Field(..., description="该账号登录是否需要动态口令")


class ConsentOut(Schema):
    """One consent of the consent register (个人信息保护法 第十四条)."""

    id: int
    purpose: str = Field(..., description="用途")
    data: str = Field(..., description="数据类别（如 id_card）")
    data_name: str = Field(..., description="数据名称")
    recipient: str = Field(..., description="接收方")
    legal_basis: str = Field(..., description="法律依据")
    reference: str = Field(..., description="来源编号（如办件编号）")
    granted_at: datetime
    withdrawn_at: datetime | None
    state: Literal["active", "withdrawn"]
    state_label: str


class ConsentListOut(Schema):
    count: int
    items: list[ConsentOut]
