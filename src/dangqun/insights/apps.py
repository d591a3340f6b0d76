from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "dangqun.insights"
    label = "insights"
    verbose_name = "数据看板"

    def ready(self) -> None:
        from . import signals

        signals.connect()
