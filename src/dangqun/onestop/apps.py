from django.apps import AppConfig


class OnestopConfig(AppConfig):
    name = "dangqun.onestop"
    label = "onestop"
    verbose_name = "一网通办"
