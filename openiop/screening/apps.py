from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "openiop.screening"
    label = "screening"
