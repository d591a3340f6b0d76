"""insights refresh | rebuild | suggest [--month YYYY-MM]"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dangqun.core.errors import RuleViolation


class Command(BaseCommand):
    help = "统计数据：refresh（增量刷新）、rebuild（全部重算）、suggest（生成某月改进建议）"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("refresh", help="刷新新近变动的统计（每分钟任务的同一步骤）")
        sub.add_parser("rebuild", help="从源数据重算全部统计")
        suggest = sub.add_parser("suggest", help="生成某月的改进建议（默认上个月）")
        suggest.add_argument("--month", default="", help="YYYY-MM")

    def handle(self, *args: Any, **opts: Any) -> None:
        from dangqun.insights import stats
        from dangqun.insights.actions import do_generate_suggestions
        from dangqun.insights.queries import last_complete_month, parse_month

        started = time.perf_counter()
        if opts["action"] == "refresh":
            result = stats.refresh_recent()
        elif opts["action"] == "rebuild":
            result = stats.rebuild()
        else:
            try:
                month = parse_month(opts["month"], default=last_complete_month())
            except RuleViolation as exc:
                raise CommandError(exc.message) from None
            result = do_generate_suggestions(month, actor="insights-command")
        figures = " ".join(f"{k}={v}" for k, v in result.items())
        self.stdout.write(f"{opts['action']}: {figures} ({time.perf_counter() - started:.1f} s)")
