from django.urls import path

from openiop.episodes import views

app_name = "episodes"
urlpatterns = [
    path("<uuid:public_id>/episodes/new/", views.episode_open, name="open"),
    path(
        "<uuid:public_id>/episodes/<uuid:episode_id>/status/", views.episode_status, name="status"
    ),
    path("<uuid:public_id>/episodes/<uuid:episode_id>/level/", views.episode_level, name="level"),
    path(
        "<uuid:public_id>/episodes/<uuid:episode_id>/care-team/",
        views.episode_care_team,
        name="care_team",
    ),
]
