"""`dangqun seed`: the demo street 幸福街道 with documented accounts (docs/demo.md)."""

from __future__ import annotations

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dangqun.core import seeding
from dangqun.core.calendar_actions import import_example_year

# Each takes --wipe; `seed --reset` wipes them in reverse order before the street.
APP_SEEDERS = ("seed_catalog", "seed_learning", "seed_feedback", "seed_insights")


class Command(BaseCommand):
    help = (
        "生成演示数据：幸福街道（社区、党组织、部门、政务服务大厅）、演示账号、党员和居民。"
        "重复运行不会重复生成；--reset 先清除演示数据；--scale N 生成 N 名居民（性能测试）。"
    )
    # A data command: it needs the models, not the URL conf or the deployment checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            type=int,
            default=None,
            metavar="N",
            help=f"居民人数（默认 {seeding.DEFAULT_RESIDENTS}，最多 {seeding.MAX_RESIDENTS}）",
        )
        parser.add_argument("--members", type=int, default=None, metavar="N", help="党员总数（默认约 280）")
        parser.add_argument("--reset", action="store_true", help="先清除已生成的演示数据再重新生成")
        parser.add_argument("--seed", type=int, default=seeding.DEFAULT_SEED, help="随机数种子（默认 2026）")
        parser.add_argument("--batch-size", type=int, default=seeding.BATCH_SIZE, help="每个事务写入的人数")
        parser.add_argument("--no-progress", action="store_true", help="不显示进度条")

    def handle(self, *args, **options) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size 必须大于 0。")
        app_seeders = self._app_seeders()
        if options["reset"]:
            for command in reversed(app_seeders):
                call_command(command, "--wipe", stdout=self.stdout)
        try:
            report = seeding.seed(
                seed=options["seed"],
                residents=options["scale"],
                members=options["members"],
                reset=options["reset"],
                batch_size=options["batch_size"],
                progress=not options["no_progress"],
                log=self.stdout.write,
            )
        except seeding.SeedError as exc:
            raise CommandError(str(exc)) from exc
        if not report.created:
            self.stdout.write(f"演示街道“{seeding.STREET_NAME}”已存在，未重复生成（如需重建请加 --reset）。")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"已生成“{seeding.STREET_NAME}”：组织 {report.organizations} 个，"
                    f"党员 {report.members} 名，居民 {report.residents} 名，用时 {report.elapsed:.1f} 秒。"
                )
            )
            timings = "，".join(f"{k} {v:.1f}s" for k, v in report.timings.items())
            self.stdout.write(f"分项用时：{timings}")
        self._example_calendar()
        # The apps' demo data hangs under the street (the catalog under its departments, learning
        # under its branches, ratings on its cases): named, not imported, so core does not depend
        # on the apps built on it. Re-running a seeder adds nothing.
        for command in app_seeders:
            call_command(command, stdout=self.stdout)
        self._print_accounts()

    @staticmethod
    def _app_seeders() -> list[str]:
        """The installed apps' seed commands, in dependency order (ratings need cases)."""
        available = get_commands()
        return [name for name in APP_SEEDERS if name in available]

    def _example_calendar(self) -> None:
        # From October on, deadlines of the demo's applications run into next year: without its
        # schedule every submission would be refused. The demo loads the bundled example (marked
        # 示例（非官方）); a real deployment imports the official one (docs/calendar.md).
        today = timezone.localdate()
        if today.month < 10:
            return
        result = import_example_year(today.year + 1, actor="dangqun seed")
        if result is not None:
            self.stdout.write(
                self.style.WARNING(
                    f"演示：已导入 {today.year + 1} 年的示例节假日安排（非官方）。正式使用前请导入"
                    "国务院办公厅公布的安排：dangqun calendar import（见 docs/calendar.md）。"
                )
            )

    def _print_accounts(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"演示账号（密码均为 {seeding.DEMO_PASSWORD}）：")
        for account in seeding.DEMO_ACCOUNTS:
            totp = f"  TOTP 密钥 {account.totp_secret}" if account.totp_secret else ""
            self.stdout.write(f"  {account.username:<13} {account.description}{totp}")
        self.stdout.write(
            "动态口令：.venv/bin/python -c \"import pyotp; print(pyotp.TOTP('<TOTP 密钥>').now())\""
        )
