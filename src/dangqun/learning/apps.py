from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "dangqun.learning"
    label = "learning"
    verbose_name = "学习教育"
