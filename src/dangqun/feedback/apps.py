from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "dangqun.feedback"
    label = "feedback"
    verbose_name = "评价与诉求"
