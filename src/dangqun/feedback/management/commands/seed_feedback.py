"""dangqun seed_feedback [--wipe]: demo ratings, fixes and messages on the demo street."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from dangqun.feedback.seeding import seed_feedback, wipe_feedback


class Command(BaseCommand):
    help = "生成好差评与留言演示数据（可重复运行）"

    def add_arguments(self, parser):
        parser.add_argument("--wipe", action="store_true", help="清除演示街道的好差评与留言数据")

    def handle(self, *args, **options):
        if options["wipe"]:
            wipe_feedback(log=self.stdout.write)
            return
        seed_feedback(log=self.stdout.write)
