from __future__ import annotations

from django.urls import path

from openiop.notes import views

app_name = "notes"
P = "patients/<uuid:patient_id>/<uuid:note_id>/"
S = "sessions/<uuid:session_id>/"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("search/", views.search, name="search"),
    path("patients/<uuid:patient_id>/", views.patient_notes, name="list"),
    path("patients/<uuid:patient_id>/new/<slug:kind>/", views.note_new, name="new"),
    path(P, views.note_detail, name="detail"),
    path(P + "edit/", views.note_edit, name="edit"),
    path(P + "sign/", views.note_sign, name="sign"),
    path(P + "cosign/", views.note_cosign, name="cosign"),
    path(P + "return/", views.note_return, name="return"),
    path(P + "addendum/", views.note_addendum, name="addendum"),
    path(P + "entered-in-error/", views.note_void, name="void"),
    path(P + "pdf/", views.note_pdf, name="pdf"),
    path(S, views.group_note, name="group"),
    path(S + "start/", views.group_start, name="group_start"),
    path(S + "cosign/", views.group_cosign, name="group_cosign"),
    path(S + "return/", views.group_return, name="group_return"),
    path("programs/<uuid:program_id>/settings/", views.program_settings, name="program_settings"),
]
