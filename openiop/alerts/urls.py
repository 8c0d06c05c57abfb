from django.urls import path

from openiop.alerts import views

app_name = "alerts"
urlpatterns = [
    path(
        "patients/<uuid:public_id>/alerts/<uuid:alert_id>/resolve/",
        views.alert_resolve,
        name="resolve",
    ),
    path("tasks/<uuid:task_id>/done/", views.task_complete, name="task_done"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
]
