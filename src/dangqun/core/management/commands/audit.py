import sys

from django.core.management.base import BaseCommand

from dangqun.core import audit


class Command(BaseCommand):
    help = "审计链：seal 封存未封存事件；verify 校验整条链并指出第一个被篡改的事件。"

    def add_arguments(self, parser):
        parser.add_argument("subcommand", choices=["verify", "seal"])

    def handle(self, *args, subcommand: str, **options):
        if subcommand == "seal":
            self.stdout.write(f"已封存 {audit.seal()} 条事件。")
            return
        result = audit.verify()
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(
                    f"审计链校验通过：{result.checked} 条事件完整（另有 {result.unsealed} 条待封存）。"
                )
            )
            return
        self.stderr.write(
            self.style.ERROR(
                f"审计链校验失败：第一个断点是事件 #{result.broken_seq}"
                f"（id={result.broken_event_id}）。{result.reason}"
            )
        )
        sys.exit(1)
