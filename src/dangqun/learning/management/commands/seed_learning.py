"""dangqun seed_learning [--wipe]: the demo learning data on the demo street (after dangqun seed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dangqun.learning.seeding import SeedError, seed_learning, wipe_learning


class Command(BaseCommand):
    help = "生成演示学习数据（内容库、必学、学员画像、学习记录、素材；可重复运行）"

    def add_arguments(self, parser):
        parser.add_argument("--wipe", action="store_true", help="只清除演示街道下的学习数据")

    def handle(self, *args, **options):
        try:
            if options["wipe"]:
                wipe_learning(log=self.stdout.write)
                return
            seed_learning(log=self.stdout.write)
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
