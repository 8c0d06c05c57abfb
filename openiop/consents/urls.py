from django.urls import path

from openiop.consents import views

app_name = "consents"
urlpatterns = [
    path("patients/<uuid:patient_id>/", views.consent_list, name="list"),
    path("patients/<uuid:patient_id>/new/<slug:kind>/", views.consent_new, name="new"),
    path("patients/<uuid:patient_id>/<uuid:consent_id>/", views.consent_detail, name="detail"),
    path("patients/<uuid:patient_id>/<uuid:consent_id>/edit/", views.consent_edit, name="edit"),
    path("patients/<uuid:patient_id>/<uuid:consent_id>/sign/", views.consent_sign, name="sign"),
    path(
        "patients/<uuid:patient_id>/<uuid:consent_id>/verbal/",
        views.consent_verbal,
        name="verbal",
    ),
    path(
        "patients/<uuid:patient_id>/<uuid:consent_id>/revoke/",
        views.consent_revoke,
        name="revoke",
    ),
    path(
        "patients/<uuid:patient_id>/<uuid:consent_id>/entered-in-error/",
        views.consent_void,
        name="void",
    ),
    path("patients/<uuid:patient_id>/<uuid:consent_id>/pdf/", views.consent_pdf, name="pdf"),
    path(
        "programs/<uuid:program_id>/requirements/",
        views.program_settings,
        name="program_settings",
    ),
]
