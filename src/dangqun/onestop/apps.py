from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _catalog_saved(sender, **kwargs) -> None:
    from .search import catalog_changed

    catalog_changed()


def _catalog_deleted(sender, **kwargs) -> None:
    from .search import catalog_changed

    catalog_changed(deleted=True)


class OnestopConfig(AppConfig):
    name = "dangqun.onestop"
    label = "onestop"
    verbose_name = "一网通办"

    def ready(self) -> None:
        # Writes that bypass the actions (the admin, scripts) still refresh the search index and
        # the submission cache of every process.
        from .models import Material, ServiceItem

        for model in (ServiceItem, Material):
            post_save.connect(_catalog_saved, sender=model, dispatch_uid=f"catalog-saved-{model.__name__}")
            post_delete.connect(
                _catalog_deleted, sender=model, dispatch_uid=f"catalog-deleted-{model.__name__}"
            )
