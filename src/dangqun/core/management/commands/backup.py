"""dangqun backup [DIR]: the database, the files and a manifest to check a restore against."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dangqun.core import backup
from dangqun.core.audit import audit


class Command(BaseCommand):
    help = "备份数据库（SQLite 在线备份 / pg_dump）和上传文件，并写出用于校验的清单。"

    def add_arguments(self, parser):
        parser.add_argument("target", nargs="?", help="新的备份目录（默认 数据目录/backups/时间）")

    def handle(self, *args, target: str | None = None, **options):
        path = (
            Path(target)
            if target
            else Path(settings.DATA_DIR) / "backups" / timezone.now().strftime("%Y%m%d-%H%M%S")
        )
        try:
            manifest = backup.backup(path)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(t["rows"] for t in manifest["tables"].values())
        audit(
            "dangqun backup", "backup.create", None, path=str(path), tables=len(manifest["tables"]), rows=rows
        )
        self.stdout.write(self.style.SUCCESS(f"已备份到 {path}：{len(manifest['tables'])} 张表，{rows} 行。"))
