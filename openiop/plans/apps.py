from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "openiop.plans"
    label = "plans"
