"""`dangqun learning evaluate | recommend`: the offline evaluation, the daily batch by hand."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "学习推荐：evaluate 离线评估（推荐 vs 热门基线）；recommend 计算全部党员的每日推荐"
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ev = sub.add_parser("evaluate", help="在生成的数据集上比较 Recall@10、NDCG@10、覆盖率")
        ev.add_argument("--items", type=int, default=2000)
        ev.add_argument("--members", type=int, default=2000)
        ev.add_argument("--seed", type=int, default=2026)
        sub.add_parser("recommend", help="运行每日批量推荐（写入 StoredRecommendations）")

    def handle(self, *args, **options) -> None:
        if options["action"] == "evaluate":
            from dangqun.learning.evaluation import evaluate

            if options["items"] < 20 or options["members"] < 10:
                raise CommandError("--items 至少 20，--members 至少 10。")
            self.stdout.write(
                f"数据集：{options['items']} 条内容，{options['members']} 名党员，种子 {options['seed']}；"
                "每人留出最后 20% 的学习记录作测试。"
            )
            result = evaluate(options["items"], options["members"], options["seed"])
            for name, metrics in result.items():
                self.stdout.write(metrics.row(name))
            rec, pop = result["recommender"], result["popularity"]
            lift = rec.ndcg / pop.ndcg if pop.ndcg else float("inf")
            self.stdout.write(f"NDCG@10 提升：{lift:.2f} 倍")
        else:
            from dangqun.learning.recommend import run_batch

            report = run_batch()
            self.stdout.write(
                f"已计算 {report['learners']} 名党员的推荐，用时 {report['seconds']} 秒：{report}"
            )
