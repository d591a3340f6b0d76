"""dangqun seed_catalog [--update]: the demo service catalog on the demo street (after dangqun seed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dangqun.onestop.seeding import CatalogSeedError, seed_catalog, wipe_catalog


class Command(BaseCommand):
    help = "生成演示事项清单（70 个事项，挂在演示街道的 10 个部门下；可重复运行）"

    def add_arguments(self, parser):
        parser.add_argument("--update", action="store_true", help="按演示数据重写已存在的事项")
        parser.add_argument("--wipe", action="store_true", help="只清除演示街道下的事项（没有办件时）")

    def handle(self, *args, **options):
        try:
            if options["wipe"]:
                wipe_catalog(log=self.stdout.write)
                return
            seed_catalog(update=options["update"], log=self.stdout.write)
        except CatalogSeedError as exc:
            raise CommandError(str(exc)) from exc
