from __future__ import annotations

from django.urls import path

from openiop.homework import views

app_name = "homework"
_A = "patients/<uuid:patient_id>/<uuid:assignment_id>/"
urlpatterns = [
    path("patients/<uuid:patient_id>/", views.homework_list, name="list"),
    path("patients/<uuid:patient_id>/assign/", views.homework_assign, name="assign"),
    path(_A, views.homework_detail, name="detail"),
    path(_A + "entry/", views.homework_entry, name="entry"),
    path(_A + "review/", views.homework_review, name="review"),
    path(_A + "cancel/", views.homework_cancel, name="cancel"),
]
