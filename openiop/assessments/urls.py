from django.urls import path

from openiop.assessments import views

app_name = "assessments"

P = "patients/<uuid:patient_id>/"
urlpatterns = [
    path(P, views.patient_assessments, name="patient"),
    path(P + "biopsychosocial/new/", views.bps_new, name="bps_new"),
    path(P + "biopsychosocial/<uuid:assessment_id>/", views.bps_detail, name="bps_detail"),
    path(P + "biopsychosocial/<uuid:assessment_id>/edit/", views.bps_edit, name="bps_edit"),
    path(P + "biopsychosocial/<uuid:assessment_id>/revise/", views.bps_revise, name="bps_revise"),
    path(
        P + "biopsychosocial/<uuid:assessment_id>/entered-in-error/",
        views.bps_entered_in_error,
        name="bps_error",
    ),
    path(P + "diagnoses/new/", views.diagnosis_new, name="diagnosis_new"),
    path(P + "diagnoses/<uuid:diagnosis_id>/", views.diagnosis_edit, name="diagnosis_edit"),
    path(P + "level-of-care/new/", views.loc_new, name="loc_new"),
    path(P + "level-of-care/<uuid:assessment_id>/", views.loc_detail, name="loc_detail"),
    path(
        P + "level-of-care/<uuid:assessment_id>/entered-in-error/",
        views.loc_entered_in_error,
        name="loc_error",
    ),
    path(P + "eligibility/", views.eligibility, name="eligibility"),
    path(P + "eligibility/record/", views.eligibility_record, name="eligibility_record"),
    path(P + "eligibility/<uuid:check_id>/", views.eligibility_check, name="eligibility_check"),
    path("icd10/", views.icd10_search, name="icd10_search"),
    path("settings/", views.settings_home, name="settings"),
    path("settings/level-of-care-table/", views.level_table, name="level_table"),
    path(
        "settings/level-of-care-table/example/",
        views.level_table_example,
        name="level_table_example",
    ),
    path(
        "settings/eligibility/<uuid:program_id>/",
        views.eligibility_rule_edit,
        name="eligibility_rule",
    ),
]
