"""`dangqun calendar import FILE.json|FILE.csv`, `dangqun calendar show 2026-10`, `dangqun calendar years`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dangqun.core import workcalendar
from dangqun.core.calendar_actions import do_import_calendar_year, read_schedule_file
from dangqun.core.errors import RuleViolation

WEEKDAYS = "一二三四五六日"


def _fail(exc: RuleViolation) -> CommandError:
    lines = [v.message for v in exc.violations] if len(exc.violations) > 1 else [exc.message]
    return CommandError("\n".join(lines))


class Command(BaseCommand):
    help = (
        "工作日历：import 导入某年的节假日安排（JSON 或 CSV，整年替换、可重复导入）；"
        "show YYYY-MM 显示一个月的工作日与休息日；years 列出可计算的年份。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        imp = sub.add_parser("import", help="导入一年的节假日安排")
        imp.add_argument(
            "file", help="JSON {year, source, days:[{date, kind, name}]} 或 CSV（date,kind,name）"
        )
        imp.add_argument("--year", type=int, help="年份（CSV 默认取第一行日期的年份）")
        imp.add_argument("--source", help="来源，如“国务院办公厅关于2027年部分节假日安排的通知”（CSV 必填）")
        imp.add_argument("--user", help="以该用户身份导入（检查 calendar.change 权限）；默认记为命令行操作")
        show = sub.add_parser("show", help="显示一个月")
        show.add_argument("month", help="YYYY-MM，如 2026-10")
        sub.add_parser("years", help="列出可计算的年份")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        try:
            getattr(self, f"do_{subcommand}")(**options)
        except RuleViolation as exc:
            raise _fail(exc) from None

    def do_import(
        self, *, file: str, year: int | None, source: str | None, user: str | None, **_: Any
    ) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"找不到文件：{file}")
        schedule = read_schedule_file(path, year=year, source=source)
        if user:
            actor: Any = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"没有用户 {user}。")
        else:
            actor = "cli"
        if schedule.example:
            self.stderr.write(self.style.WARNING("注意：这是示例文件，不是国务院办公厅发布的正式安排。"))
        result = do_import_calendar_year(schedule.year, schedule.days, schedule.source, actor=actor)
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入 {result.calendar_year.year} 年：放假 {result.holidays} 天，"
                f"调休上班 {result.workdays} 天（替换原有 {result.replaced} 条）。"
                f"来源：{result.calendar_year.source}"
            )
        )

    def do_show(self, *, month: str, **_: Any) -> None:
        m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise CommandError("月份格式应为 YYYY-MM，如 2026-10。")
        year, mon = int(m.group(1)), int(m.group(2))
        days = workcalendar.month_days(year, mon)
        self.stdout.write(f"{year} 年 {mon} 月（* 休息日，+ 调休上班）")
        self.stdout.write("".join(f"  {w} " for w in WEEKDAYS).rstrip())  # cells are 5 columns wide
        line = "     " * days[0].day.weekday()
        for info in days:
            weekend = info.day.weekday() >= 5
            mark = "*" if not info.is_workday else ("+" if weekend else " ")
            line += f"{info.day.day:>3}{mark} "
            if info.day.weekday() == 6:
                self.stdout.write(line.rstrip())
                line = ""
        if line:
            self.stdout.write(line.rstrip())
        named = [i for i in days if i.name]
        if named:
            self.stdout.write("")
        for info in named:
            status = "上班" if info.is_workday else "放假"
            origin = "（管理员设置）" if info.overridden else ""
            self.stdout.write(
                f"{info.day.isoformat()} 星期{WEEKDAYS[info.day.weekday()]} {status} {info.name}{origin}"
            )
        total = sum(i.is_workday for i in days)
        self.stdout.write(f"本月工作日 {total} 天。")

    def do_years(self, **_: Any) -> None:
        years = workcalendar.known_years()
        today = timezone.localdate()
        self.stdout.write("可计算的年份：" + "、".join(str(y) for y in years))
        if today.year + 1 not in years:
            self.stdout.write(
                self.style.WARNING(f"尚未导入 {today.year + 1} 年的安排：国务院办公厅公布后请及时导入。")
            )
