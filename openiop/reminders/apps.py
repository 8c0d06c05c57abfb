from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "openiop.reminders"
    label = "reminders"
