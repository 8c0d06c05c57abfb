from django.urls import path

from openiop.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_search, name="search"),
    path("new/", views.patient_register, name="register"),
    path("emergency-access/", views.break_glass, name="break_glass"),
    path("<uuid:public_id>/", views.patient_chart, name="chart"),
    path(
        "<uuid:public_id>/chart/<slug:section>/",
        views.patient_chart_section,
        name="chart_section",
    ),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/contacts/new/", views.contact_add, name="contact_add"),
    path(
        "<uuid:public_id>/contacts/<uuid:contact_id>/remove/",
        views.contact_remove,
        name="contact_remove",
    ),
    path("<uuid:public_id>/coverage/new/", views.coverage_add, name="coverage_add"),
    path(
        "<uuid:public_id>/coverage/<uuid:coverage_id>/status/",
        views.coverage_status,
        name="coverage_status",
    ),
]
