"""dangqun restore DIR --yes: put a backup back, then check counts, digests and the audit chain."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from dangqun.core import audit, backup


class Command(BaseCommand):
    help = "从备份恢复数据库和上传文件（会覆盖当前数据），并校验行数、内容摘要和审计链。"

    def add_arguments(self, parser):
        parser.add_argument("source", help="dangqun backup 生成的目录")
        parser.add_argument("--yes", action="store_true", help="确认覆盖当前数据库和文件")

    def handle(self, *args, source: str, yes: bool = False, **options):
        if not yes:
            raise CommandError("恢复会覆盖当前的全部数据和文件；确认无误后请加 --yes 再运行。")
        try:
            check = backup.restore(Path(source))
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        chain = audit.verify()
        for line in check.differences:
            self.stderr.write(line)
        if not chain.ok:
            self.stderr.write(f"审计链校验失败：第一个断点是事件 #{chain.broken_seq}。{chain.reason}")
        if check.ok and chain.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已恢复并校验：各表行数与内容摘要一致，审计链完整（{chain.checked} 条）。"
                )
            )
            return
        sys.exit(1)
