from __future__ import annotations

from django.urls import path

from openiop.attendance import views

app_name = "attendance"
urlpatterns = [
    path("", views.census, name="census"),
    path("sessions/<uuid:session_id>/", views.roster, name="roster"),
    path(
        "sessions/<uuid:session_id>/check-in/<uuid:patient_id>/",
        views.check_in,
        name="check_in",
    ),
    path("walk-in/", views.walk_in, name="walk_in"),
    path("appointments/<uuid:appointment_id>/", views.appointment_mark, name="appointment"),
    path("patients/<uuid:public_id>/outreach/", views.outreach, name="outreach"),
    path("compliance/", views.compliance_report, name="compliance"),
    path("compliance/export/", views.compliance_export, name="compliance_export"),
    path("settings/", views.settings_home, name="settings"),
    path("settings/programs/<uuid:program_id>/", views.settings_program, name="settings_program"),
    path("settings/requirements/new/", views.requirement_edit, name="requirement_new"),
    path("settings/requirements/<uuid:public_id>/", views.requirement_edit, name="requirement"),
]
