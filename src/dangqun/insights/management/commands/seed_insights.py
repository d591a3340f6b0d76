"""seed_insights: the demo's statistics and last month's suggestions (after the other seeders).

The demo seeders write in bulk (no signals), so the aggregates are rebuilt once at the end.
`--wipe` removes what this app holds about the demo street (suggestions point at its units).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction


class Command(BaseCommand):
    help = "演示数据：重算统计并生成上个月的改进建议（--wipe 清除统计与建议）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wipe", action="store_true", help="清除统计、改进建议和改进任务")

    def handle(self, *args: Any, **opts: Any) -> None:
        from dangqun.insights import models, stats
        from dangqun.insights.actions import do_generate_suggestions
        from dangqun.insights.queries import last_complete_month

        if opts["wipe"]:
            with transaction.atomic():
                models.ImprovementTask.objects.all().delete()
                models.Suggestion.objects.all().delete()
                for model in (
                    models.CaseStat,
                    models.NoticeMaterialStat,
                    models.RatingStat,
                    models.FixStat,
                    models.MessageStat,
                    models.Slice,
                    models.Cursor,
                ):
                    model.objects.all().delete()
            self.stdout.write("已清除统计数据与改进建议。")
            return
        result = stats.rebuild()
        month = last_complete_month()
        made = do_generate_suggestions(month, actor="dangqun seed")
        self.stdout.write(
            f"统计已重算（办件 {result['case_rows']} 行，评价 {result['rating_rows']} 行）；"
            f"{month:%Y-%m} 改进建议 {made['created']} 条。"
        )
