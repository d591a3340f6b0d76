from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dangqun.core"
    label = "core"
    verbose_name = "基础"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import rulesets

        post_migrate.connect(rulesets.sync_default_rules, sender=self)
