from __future__ import annotations

from django.urls import URLPattern, path

from openiop.scheduling import views

app_name = "scheduling"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("topics/", views.topics, name="topics"),
    path("rooms/", views.rooms, name="rooms"),
    path("rooms/<uuid:room_id>/edit/", views.room_edit, name="room_edit"),
    path("closures/", views.closures, name="closures"),
    path("closures/<uuid:closure_id>/", views.closure_detail, name="closure"),
    path("tracks/new/", views.track_new, name="track_new"),
    path("tracks/<uuid:track_id>/edit/", views.track_edit, name="track_edit"),
    path("tracks/<uuid:track_id>/cycle/", views.track_cycle, name="track_cycle"),
    path("tracks/<uuid:track_id>/waitlist/", views.track_waitlist, name="waitlist"),
    path("waitlist/<uuid:entry_id>/enrol/", views.waitlist_enrol, name="waitlist_enrol"),
    path("waitlist/<uuid:entry_id>/remove/", views.waitlist_remove, name="waitlist_remove"),
    path("templates/<uuid:template_id>/edit/", views.template_edit, name="template_edit"),
    path("templates/<uuid:template_id>/retire/", views.template_retire, name="template_retire"),
    path("tracks/<uuid:track_id>/", views.track_detail, name="track"),
    path("tracks/<uuid:track_id>/calendar/", views.track_calendar, name="track_calendar"),
    path("tracks/<uuid:track_id>/templates/new/", views.template_new, name="template_new"),
    path("tracks/<uuid:track_id>/sessions/new/", views.session_new, name="session_new"),
    path("templates/<uuid:template_id>/generate/", views.template_generate, name="generate"),
    path("sessions/<uuid:session_id>/", views.session_detail, name="session"),
    path("sessions/<uuid:session_id>/cancel/", views.session_cancel, name="session_cancel"),
    path("sessions/<uuid:session_id>/edit/", views.session_edit, name="session_edit"),
    path("rooms/<uuid:room_id>/calendar/", views.room_calendar, name="room_calendar"),
    path("staff/<uuid:staff_id>/calendar/", views.staff_calendar, name="staff_calendar"),
    path("patients/<uuid:patient_id>/calendar/", views.patient_calendar, name="patient_calendar"),
    path("patients/<uuid:patient_id>/enrol/", views.enrol, name="enrol"),
    path(
        "patients/<uuid:patient_id>/enrolments/<uuid:enrolment_id>/end/",
        views.enrolment_end,
        name="enrolment_end",
    ),
    path(
        "patients/<uuid:patient_id>/enrolments/<uuid:enrolment_id>/change/",
        views.enrolment_change,
        name="enrolment_change",
    ),
    path(
        "patients/<uuid:patient_id>/appointments/new/",
        views.appointment_new,
        name="appointment_new",
    ),
    path(
        "patients/<uuid:patient_id>/appointments/<uuid:appointment_id>/",
        views.appointment_detail,
        name="appointment",
    ),
    path(
        "patients/<uuid:patient_id>/appointments/<uuid:appointment_id>/cancel/",
        views.appointment_cancel,
        name="appointment_cancel",
    ),
    path(
        "patients/<uuid:patient_id>/appointments/<uuid:appointment_id>/reschedule/",
        views.appointment_reschedule,
        name="appointment_reschedule",
    ),
]
