from django.apps import AppConfig


class CertsConfig(AppConfig):
    name = "dangqun.certs"
    label = "certs"
    verbose_name = "电子证照"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the signing-key system check)
