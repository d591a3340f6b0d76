from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "dangqun.members"
    label = "members"
    verbose_name = "党员"
