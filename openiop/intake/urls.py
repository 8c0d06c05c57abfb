from django.urls import path

from openiop.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.board, name="board"),
    path("referrals/", views.referral_list, name="list"),
    path("referrals/new/", views.referral_create, name="create"),
    path("referrals/<uuid:referral_id>/", views.referral_detail, name="detail"),
    path("referrals/<uuid:referral_id>/edit/", views.referral_edit, name="edit"),
    path("referrals/<uuid:referral_id>/move/", views.referral_move, name="move"),
    path("referrals/<uuid:referral_id>/contact/", views.referral_contact, name="contact"),
    path("referrals/<uuid:referral_id>/register/", views.referral_convert, name="convert"),
    path(
        "referrals/<uuid:referral_id>/observation/",
        views.referral_observation,
        name="referral_observation",
    ),
    path(
        "patients/<uuid:public_id>/episodes/<uuid:episode_id>/observation/",
        views.patient_observation,
        name="patient_observation",
    ),
    path(
        "patients/<uuid:public_id>/episodes/<uuid:episode_id>/admit/",
        views.episode_admit,
        name="admit",
    ),
    path(
        "observations/<uuid:visit_id>/entered-in-error/",
        views.observation_entered_in_error,
        name="observation_error",
    ),
]
