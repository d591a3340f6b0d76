"""The demo street (`dangqun seed`): organizations, staff accounts, members, residents.

Deterministic for a given `--seed` (names, sizes and assignments come from one seeded PRNG;
ID numbers and phones from each person's counter, see seed_people). Term dates are relative
to today so that "a term ending within 3 months" stays true whenever the demo is seeded.

Fast at scale: people are inserted in batches (seed_bulk), each batch in its own
transaction, primary keys pre-assigned (so role grants need no read-back), and every demo
account shares ONE password hash computed once (PBKDF2 at 1,000,000 iterations per user
would take days for a million residents). The blind indexes are computed there because a
bulk insert skips User.save(). The whole run is audited as one "seed.run" event.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from tqdm import tqdm

from dangqun.accounts.choices import Role
from dangqun.accounts.models import RoleGrant, User
from dangqun.orgs.actions import place
from dangqun.orgs.choices import OrgKind, SettingMode
from dangqun.orgs.models import Organization

from .audit import audit
from .seed_bulk import insert_people, reset_sequences, tune_sqlite
from .seed_people import MAX_PEOPLE, NameMaker, make_person
from .seed_plan import (
    BRANCHES,
    COMMUNITIES,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEMO_USERNAMES,
    DEPARTMENTS,
    GROUP_NAMES,
    STREET_CODE,
    STREET_NAME,
    WINDOWS,
    DemoAccount,
)

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "STREET_NAME", "SeedError", "SeedReport", "seed", "wipe"]

DEFAULT_SEED = 2026
DEFAULT_RESIDENTS = 600
MAX_RESIDENTS = 10_000_000
BATCH_SIZE = 10_000
MEMBER_PREFIX = "demo_m"
RESIDENT_PREFIX = "demo_r"


class SeedError(Exception):
    """Raised when the demo data cannot be (re)built; the message says what to do."""


# ---------------------------------------------------------------- results


@dataclass
class SeedReport:
    created: bool
    street: Organization | None = None
    organizations: int = 0
    members: int = 0
    residents: int = 0
    reset: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    accounts: tuple[DemoAccount, ...] = DEMO_ACCOUNTS

    @property
    def elapsed(self) -> float:
        return sum(self.timings.values())


# ---------------------------------------------------------------- entry point


def seeded_street() -> Organization | None:
    return Organization.objects.filter(
        kind=OrgKind.STREET, parent=None, name=STREET_NAME, code=STREET_CODE
    ).first()


def seed(
    *,
    seed: int = DEFAULT_SEED,
    residents: int | None = None,
    members: int | None = None,
    reset: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    log: Callable[[str], None] = lambda _msg: None,
) -> SeedReport:
    """Build the demo street; skipped when it exists, unless `reset` wipes it first."""
    if getattr(settings, "PRODUCTION", False):
        # Published passwords and TOTP secrets must never reach a production database.
        raise SeedError("生产环境（DANGQUN_ENV=production）不能生成演示数据。")
    residents = DEFAULT_RESIDENTS if residents is None else residents
    if not 0 <= residents <= MAX_RESIDENTS:
        raise SeedError(f"--scale 须在 0 到 {MAX_RESIDENTS} 之间。")
    plan = member_plan(members)
    if len(DEMO_ACCOUNTS) + sum(plan.values()) + residents > MAX_PEOPLE:
        raise SeedError("人数超过了身份证号生成器的容量。")

    report = SeedReport(created=False)
    clock = time.perf_counter()
    if reset:
        report.reset = wipe(log=log)
        report.timings["reset"] = time.perf_counter() - clock
    elif seeded_street() is not None:
        report.street = seeded_street()
        return report

    tune_sqlite()
    rng = random.Random(seed)
    names = NameMaker(rng)
    today = timezone.localdate()
    password_hash = make_password(DEMO_PASSWORD)  # once: every demo account shares it

    clock = time.perf_counter()
    try:
        with transaction.atomic():
            orgs = _build_tree(today, rng)
            counter = _create_demo_accounts(orgs, names, password_hash, log)
            counter, member_total = _create_members(orgs, plan, counter, rng, names, password_hash)
        report.timings["tree+members"] = time.perf_counter() - clock
        log(f"组织 {len(orgs)} 个，党员 {member_total} 名。")

        clock = time.perf_counter()
        _create_residents(orgs, residents, counter, rng, names, password_hash, batch_size, progress)
        report.timings["residents"] = time.perf_counter() - clock
    except IntegrityError as exc:
        # Leftovers of an interrupted run (demo_… users without their street): say how to recover.
        raise SeedError(f"数据库中已有冲突的演示数据（{exc}）；请加 --reset 重新生成。") from exc

    clock = time.perf_counter()
    with transaction.atomic():
        reset_sequences()
        street = orgs["street"]
        audit(
            "dangqun seed",
            "seed.run",
            street,
            seed=seed,
            reset=reset,
            organizations=len(orgs),
            members=member_total,
            residents=residents,
            accounts=sorted(DEMO_USERNAMES),
        )
    report.timings["finish"] = time.perf_counter() - clock
    report.created, report.street = True, street
    report.organizations, report.members, report.residents = len(orgs), member_total, residents
    return report


# ---------------------------------------------------------------- wiping


def wipe(*, log: Callable[[str], None] = lambda _msg: None) -> dict[str, int]:
    """Delete the seeded street (its whole subtree), its role grants and the demo accounts.

    A demo account that authored audit events is kept (the chain is append-only and its
    events point at it); the next seed updates it in place instead of creating it again.
    """
    from .models import AuditEvent

    counts = {"organizations": 0, "grants": 0, "users": 0}
    street = seeded_street()
    with transaction.atomic():
        if street is not None:
            lo, hi = street.subtree_range()
            in_street = {"organization__path__gte": lo, "organization__path__lt": hi}
            counts["grants"] = RoleGrant.objects.filter(**in_street).delete()[0]

        authors = AuditEvent.objects.filter(actor__isnull=False).values("actor_id")
        demo_users = (
            User.objects.filter(username__startswith=MEMBER_PREFIX)
            | User.objects.filter(username__startswith=RESIDENT_PREFIX)
            | User.objects.filter(username__in=DEMO_USERNAMES)
        ).exclude(pk__in=authors)
        pks = list(demo_users.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), 5000):
            chunk = pks[start : start + 5000]
            counts["users"] += User.objects.filter(pk__in=chunk).delete()[1].get("accounts.User", 0)

        if street is not None:
            nodes = list(Organization.objects.filter(path__gte=lo, path__lt=hi).values_list("pk", "depth"))
            try:
                for depth in sorted({d for _, d in nodes}, reverse=True):
                    level = [pk for pk, d in nodes if d == depth]
                    Organization.objects.filter(pk__in=level).delete()
                    counts["organizations"] += len(level)
            except ProtectedError as exc:
                kinds = "、".join(sorted({str(o._meta.verbose_name) for o in exc.protected_objects}))
                raise SeedError(
                    f"演示街道下还有其他数据（{kinds}），不能自动清除；请先删除这些数据或使用新数据库。"
                ) from exc
    log(
        f"已清除演示数据：组织 {counts['organizations']} 个，用户 {counts['users']} 个，"
        f"角色授权 {counts['grants']} 条。"
    )
    return counts


# ---------------------------------------------------------------- the tree


def _term(today: date, years: int, rng: random.Random, *, ends_soon: bool = False) -> tuple[date, date]:
    """(start, end) of the current term: ends within 3 months if `ends_soon`, else later."""
    length = timedelta(days=round(years * 365.25))
    if ends_soon:
        end = today + timedelta(days=45)
        return end - length + timedelta(days=1), end
    start = today - timedelta(days=rng.randint(200, length.days - 120))
    return start, start + length - timedelta(days=1)


def _build_tree(today: date, rng: random.Random) -> dict[str, Organization]:
    orgs: dict[str, Organization] = {}

    def add(key: str, name: str, kind: str, parent: str | None, **fields) -> Organization:
        org = Organization(name=name, kind=kind, parent=orgs.get(parent or ""), path=f"tmp-{key}", **fields)
        org.save()
        place(org, org.parent)
        org.save(update_fields=["path", "depth"])
        orgs[key] = org
        return org

    add(
        "street",
        STREET_NAME,
        OrgKind.STREET,
        None,
        code=STREET_CODE,
        address="幸福路 1 号",
        phone="0571-88000000",
    )
    for i, c in enumerate(COMMUNITIES):
        add(c.key, c.name, OrgKind.COMMUNITY, "street", address=c.address, phone=f"0571-8800{i + 1:04d}")

    start, end = _term(today, 5, rng)
    add(
        "committee",
        "中共幸福街道工作委员会",
        OrgKind.PARTY_COMMITTEE,
        "street",
        short_name="幸福街道党工委",
        setting_mode=SettingMode.REGIONAL,
        term_started_on=start,
        term_ends_on=end,
        committee_size=7,
        deputy_secretaries=1,
        address="幸福路 1 号",
    )
    start, end = _term(today, 5, rng)
    add(
        "gb_hp",
        "中共幸福街道和平社区总支部委员会",
        OrgKind.GENERAL_BRANCH,
        "committee",
        short_name="和平社区党总支",
        is_village_or_community=True,
        term_started_on=start,
        term_ends_on=end,
        committee_size=5,
        deputy_secretaries=1,
        address=COMMUNITIES[0].address,
    )
    start, end = _term(today, 3, rng)
    add(
        "gb_jg",
        "中共幸福街道机关总支部委员会",
        OrgKind.GENERAL_BRANCH,
        "committee",
        short_name="街道机关党总支",
        term_started_on=start,
        term_ends_on=end,
        committee_size=5,
        deputy_secretaries=1,
        address="幸福路 1 号",
    )
    for b in BRANCHES:
        start, end = _term(today, 5 if b.village else 3, rng, ends_soon=b.term_ends_soon)
        add(
            b.key,
            b.name,
            OrgKind.BRANCH,
            b.parent,
            is_village_or_community=b.village,
            setting_mode=b.setting_mode,
            covered_units=b.covered_units,
            term_started_on=start,
            term_ends_on=end,
        )
    for key, name, short in DEPARTMENTS:
        add(key, name, OrgKind.DEPARTMENT, "street", short_name=short, address="幸福路 1 号")
    add(
        "hall",
        "幸福街道政务服务大厅",
        OrgKind.SERVICE_HALL,
        "street",
        address="幸福路 3 号",
        phone="0571-12345",
    )
    for i, name in enumerate(WINDOWS, start=1):
        add(f"window{i}", name, OrgKind.WINDOW, "hall")
    return orgs


def member_plan(total: int | None) -> dict[str, int]:
    """Members per branch: the default sizes, or `total` spread in the same proportions."""
    default = {b.key: b.members for b in BRANCHES}
    if total is None:
        return default
    minimum = 3 * len(BRANCHES)  # a branch needs 3 members (支部工作条例 第五条)
    if total < minimum:
        raise SeedError(f"--members 至少为 {minimum}（每个党支部至少 3 名党员）。")
    weight = sum(default.values())
    spare = total - minimum
    shares = {k: spare * v / weight for k, v in default.items()}
    counts = {k: 3 + int(s) for k, s in shares.items()}
    # Largest remainder: hand out what rounding down left over.
    for k in sorted(shares, key=lambda k: shares[k] - int(shares[k]), reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[k] += 1
    return counts


# ---------------------------------------------------------------- people


def _create_demo_accounts(
    orgs: dict[str, Organization], names: NameMaker, password_hash: str, log: Callable[[str], None]
) -> int:
    """Create the documented demo accounts; an existing account of that name is updated.

    The demo promises these usernames with this password, so an account of the same name
    (kept by --reset, or made earlier with createsuperuser) is reset to the demo values.
    """
    for n, account in enumerate(DEMO_ACCOUNTS):
        person = make_person(n, names)
        male, female = account.names
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = User(username=account.username)
        else:
            log(f"已有账号 {account.username}：已重置为演示密码和演示身份信息。")
        user.password = password_hash
        user.full_name = male if person.gender == "M" else female
        user.id_number, user.phone = person.id_number, person.phone
        user.birth_date, user.gender = person.birth_date, person.gender
        user.is_active = True
        user.is_superuser = user.is_staff = account.role is None
        user.totp_secret = account.totp_secret
        user.totp_confirmed = bool(account.totp_secret)
        user.failed_logins, user.locked_until = 0, None
        user.save()  # computes the blind indexes
        org = orgs[account.org]
        if account.role:
            RoleGrant.objects.get_or_create(user=user, role=account.role, organization=org)
        if account.also_member:
            RoleGrant.objects.get_or_create(user=user, role=Role.MEMBER, organization=org)
    return len(DEMO_ACCOUNTS)


def _create_members(
    orgs: dict[str, Organization],
    plan: dict[str, int],
    counter: int,
    rng: random.Random,
    names: NameMaker,
    password_hash: str,
) -> tuple[int, int]:
    """Members of every branch (role=member grant), a secretary for each, and the counters."""
    already = {}  # members among the demo accounts, per branch key
    for account in DEMO_ACCOUNTS:
        if account.role == Role.MEMBER or account.also_member:
            already[account.org] = already.get(account.org, 0) + 1
    people, usernames, grants = [], [], []
    total = 0
    for b in BRANCHES:
        org = orgs[b.key]
        size = max(plan[b.key], already.get(b.key, 0))
        probationary = round(size * 0.08)
        for i in range(size - already.get(b.key, 0)):
            person = make_person(counter, names)
            counter += 1
            roles = [(Role.MEMBER, org.pk)]
            if i == 0 and b.key not in already:  # the branch's secretary (demo `secretary` leads hp1)
                roles.append((Role.BRANCH_SECRETARY, org.pk))
            people.append(person)
            usernames.append(f"{MEMBER_PREFIX}{len(people):05d}")
            grants.append(roles)
        org.probationary_members = probationary
        org.full_members = size - probationary
        org.committee_size = 0 if org.full_members < 7 else (5 if size > 30 else 3)
        org.deputy_secretaries = 1 if org.committee_size else 0
        org.save(
            update_fields=["full_members", "probationary_members", "committee_size", "deputy_secretaries"]
        )
        groups = 1 if size < 15 else 2 if size < 30 else 3
        for g in range(groups):
            group = Organization(name=GROUP_NAMES[g], kind=OrgKind.GROUP, parent=org, path=f"tmp-{b.key}-{g}")
            group.save()
            place(group, org)
            group.save(update_fields=["path", "depth"])
            orgs[f"{b.key}_group{g + 1}"] = group
        total += size
    rng.shuffle(usernames)  # member numbers do not reveal the branch
    insert_people(people, usernames, grants, password_hash, timezone.now())
    return counter, total


def _create_residents(
    orgs: dict[str, Organization],
    count: int,
    counter: int,
    rng: random.Random,
    names: NameMaker,
    password_hash: str,
    batch_size: int,
    progress: bool,
) -> None:
    """`count` residents (role=resident on a community), `batch_size` per transaction."""
    communities = [orgs[c.key].pk for c in COMMUNITIES]
    weights = [c.weight for c in COMMUNITIES]
    bar = tqdm(total=count, desc="居民", unit="人", unit_scale=True, disable=not progress, mininterval=0.5)
    with bar:
        for start in range(0, count, batch_size):
            size = min(batch_size, count - start)
            people = [make_person(counter + i, names) for i in range(size)]
            homes = rng.choices(communities, weights=weights, k=size)
            usernames = [f"{RESIDENT_PREFIX}{start + i + 1:07d}" for i in range(size)]
            with transaction.atomic():
                homes_grants = [[(Role.RESIDENT, h)] for h in homes]
                insert_people(people, usernames, homes_grants, password_hash, timezone.now())
            counter += size
            bar.update(size)
