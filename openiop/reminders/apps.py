from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RemindersConfig(AppConfig):
    name = "openiop.reminders"
    label = "reminders"

    def ready(self) -> None:
        from openiop.reminders.jobs import ensure_schedule

        post_migrate.connect(ensure_schedule, sender=self, dispatch_uid="reminders-schedule")
