from __future__ import annotations

from django.urls import path

from openiop.plans import views

app_name = "plans"
_V = "patients/<uuid:patient_id>/versions/<uuid:version_id>/"
urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("settings/deadlines/", views.deadline_settings, name="deadline_settings"),
    path("settings/deadlines/new/", views.deadline_setting_edit, name="deadline_setting_new"),
    path(
        "settings/deadlines/<uuid:setting_id>/",
        views.deadline_setting_edit,
        name="deadline_setting_edit",
    ),
    path("patients/<uuid:patient_id>/", views.plan_home, name="home"),
    path("patients/<uuid:patient_id>/start/", views.plan_start, name="start"),
    path(_V, views.plan_version, name="version"),
    path(_V + "edit/", views.plan_edit, name="edit"),
    path(_V + "autosave/", views.plan_autosave, name="autosave"),
    path(_V + "sign/patient/", views.plan_sign_patient, name="sign_patient"),
    path(_V + "sign/<slug:role>/", views.plan_sign_staff, name="sign_staff"),
    path(_V + "entered-in-error/", views.plan_void, name="void"),
    path(_V + "pdf/", views.plan_pdf, name="pdf"),
    path("patients/<uuid:patient_id>/relapse/", views.relapse_edit, name="relapse_edit"),
    path(
        "patients/<uuid:patient_id>/relapse/<uuid:plan_id>/", views.relapse_detail, name="relapse"
    ),
    path(
        "patients/<uuid:patient_id>/relapse/<uuid:plan_id>/pdf/",
        views.relapse_pdf,
        name="relapse_pdf",
    ),
]
