from __future__ import annotations

from datetime import datetime

from ninja import Field, Schema


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
