"""What the demo street contains: its organizations, branch sizes and the demo accounts.

Data only (the builder is core.seeding). docs/demo.md describes the same street: keep the
two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from dangqun.accounts.choices import Role
from dangqun.orgs.choices import SettingMode

DEMO_PASSWORD = "Dangqun@2026"  # noqa: S105 — documented in docs/demo.md, demo data only
STREET_NAME = "幸福街道"
STREET_CODE = "330106011"  # the demo street's 统计用区划代码-style code marks it as seeded


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str | None  # None: the superuser
    org: str  # key of the organization the role is granted on
    names: tuple[str, str]  # (if the generated ID says male, if female)
    totp_secret: str  # "" for roles without two-factor login
    description: str
    also_member: bool = False  # a party member of `org` too (counted in the branch)


def _totp(tag: str) -> str:
    # Base32 (A–Z, 2–7), 32 characters = 160 bits as RFC 4226 recommends.
    return f"DANGQUNDEMO2FA{tag}".ljust(32, "A")


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("admin", None, "street", ("高建华", "高建华"), _totp("ADMIN"), "系统管理员（超级用户）"),
    DemoAccount(
        "street_admin", Role.STREET_ADMIN, "street", ("王建国", "王秀兰"), _totp("STREET"), "幸福街道管理员"
    ),
    DemoAccount(
        "dept_admin",
        Role.DEPARTMENT_ADMIN,
        "dept_shebao",
        ("李志刚", "李秀梅"),
        _totp("DEPT"),
        "社会保障服务所（社保）部门管理员",
    ),
    DemoAccount(
        "secretary",
        Role.BRANCH_SECRETARY,
        "hp1",
        ("张卫东", "张丽娟"),
        _totp("SECRETARY"),
        "和平社区第一党支部书记（本支部党员）",
        also_member=True,
    ),
    DemoAccount(
        "window",
        Role.WINDOW_STAFF,
        "window1",
        ("陈晓峰", "陈晓燕"),
        _totp("WINDOW"),
        "政务服务大厅 1号窗口（综合受理）工作人员",
    ),
    DemoAccount("member", Role.MEMBER, "hp1", ("刘志强", "刘桂英"), "", "和平社区第一党支部党员"),
    DemoAccount("resident", Role.RESIDENT, "community_hp", ("赵明", "赵丽华"), "", "和平社区居民"),
)
DEMO_USERNAMES = frozenset(a.username for a in DEMO_ACCOUNTS)


@dataclass(frozen=True)
class CommunityPlan:
    key: str
    name: str
    address: str
    weight: float  # share of the residents


COMMUNITIES = (
    CommunityPlan("community_hp", "和平社区", "幸福街道和平路 88 号", 0.26),
    CommunityPlan("community_gm", "光明社区", "幸福街道光明巷 12 号", 0.22),
    CommunityPlan("community_xfl", "幸福里社区", "幸福街道幸福里 3 幢", 0.20),
    CommunityPlan("community_cy", "翠苑社区", "幸福街道翠苑一区 21 幢", 0.17),
    CommunityPlan("community_wx", "文新社区", "幸福街道文新路 166 号", 0.15),
)


@dataclass(frozen=True)
class BranchPlan:
    key: str
    name: str
    parent: str
    members: int  # default size (full + probationary), before --members rescales
    village: bool = False  # 村（社区）党组织: 5-year term
    setting_mode: str = SettingMode.SINGLE
    covered_units: int = 1
    term_ends_soon: bool = False  # within 3 months of today: the term reminder shows


BRANCHES = (
    BranchPlan("hp1", "和平社区第一党支部", "gb_hp", 28, village=True),
    BranchPlan("hp2", "和平社区第二党支部", "gb_hp", 22, village=True),
    BranchPlan("hp_retired", "和平社区离退休党支部", "gb_hp", 35, village=True),
    BranchPlan("gm", "光明社区党支部", "committee", 56, village=True),  # > 50: "consider splitting"
    BranchPlan("xfl", "幸福里社区党支部", "committee", 24, village=True, term_ends_soon=True),
    BranchPlan("cy", "翠苑社区党支部", "committee", 19, village=True),
    BranchPlan("wx", "文新社区党支部", "committee", 21, village=True),
    BranchPlan("jg1", "街道机关第一党支部", "gb_jg", 22),
    BranchPlan("jg2", "街道机关第二党支部", "gb_jg", 18),
    BranchPlan("bmfw", "街道便民服务中心党支部", "gb_jg", 13),
    BranchPlan(
        "joint",
        "幸福街道非公企业联合党支部",
        "committee",
        9,
        setting_mode=SettingMode.JOINT,
        covered_units=4,
    ),
    BranchPlan("flowing", "幸福街道流动党员党支部", "committee", 8, setting_mode=SettingMode.FLOWING),
)

DEPARTMENTS = (
    ("dept_shebao", "幸福街道社会保障服务所", "社保"),
    ("dept_yibao", "幸福街道医疗保障服务站", "医保"),
    ("dept_gjj", "住房公积金幸福街道服务点", "公积金"),
    ("dept_huji", "幸福派出所户籍室", "户籍"),
    ("dept_minzheng", "幸福街道民政办", "民政"),
    ("dept_canlian", "幸福街道残疾人联合会", "残联"),
    ("dept_weijian", "幸福街道卫生健康办", "卫健"),
    ("dept_scjg", "幸福市场监督管理所", "市场监管"),
    ("dept_renshe", "幸福街道就业和人才服务站", "人社"),
    ("dept_zhujian", "幸福街道城市建设管理办", "住建"),
)

WINDOWS = (
    "1号窗口（综合受理）",
    "2号窗口（社保医保）",
    "3号窗口（公积金）",
    "4号窗口（户籍）",
    "5号窗口（民政残联）",
    "6号窗口（市场监管）",
    "7号窗口（就业人社）",
    "8号窗口（出件咨询）",
)

GROUP_NAMES = ("第一党小组", "第二党小组", "第三党小组")
