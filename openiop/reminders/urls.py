from __future__ import annotations

from django.urls import path

from openiop.reminders import views

app_name = "reminders"
urlpatterns = [
    path("feed/<str:token>.ics", views.calendar_feed, name="feed"),
    path(
        "patients/<uuid:patient_id>/preferences/",
        views.patient_preferences,
        name="preferences",
    ),
    path("patients/<uuid:patient_id>/feed/issue/", views.patient_feed_issue, name="feed_issue"),
    path("patients/<uuid:patient_id>/feed/revoke/", views.patient_feed_revoke, name="feed_revoke"),
    path("my-calendar/", views.my_calendar, name="my_calendar"),
    path("my-calendar/issue/", views.my_feed_issue, name="my_feed_issue"),
    path("my-calendar/revoke/", views.my_feed_revoke, name="my_feed_revoke"),
]
