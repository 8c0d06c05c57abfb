from django.apps import AppConfig


class HomeworkConfig(AppConfig):
    name = "openiop.homework"
    label = "homework"
