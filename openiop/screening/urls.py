from django.urls import path

from openiop.screening import views

app_name = "screening"
P = "patients/<uuid:public_id>/"
A = P + "administrations/<uuid:administration_id>/"
urlpatterns = [
    path(P + "instruments/", views.instrument_choose, name="choose"),
    path(P + "instruments/<str:code>/new/", views.administration_new, name="administration_new"),
    path(P + "administrations/", views.administration_history, name="history"),
    path(A, views.administration_detail, name="administration_detail"),
    path(A + "edit/", views.administration_edit, name="administration_edit"),
    path(
        A + "entered-in-error/",
        views.administration_entered_in_error,
        name="administration_entered_in_error",
    ),
    path(P + "alerts/<uuid:alert_id>/response/", views.risk_response_new, name="risk_response"),
    path(
        P + "alerts/<uuid:alert_id>/resolve/", views.risk_alert_resolve, name="risk_alert_resolve"
    ),
    path(P + "safety-plan/", views.safety_plan_detail, name="safety_plan"),
    path(P + "safety-plan/edit/", views.safety_plan_edit, name="safety_plan_edit"),
    path(P + "safety-plan/<uuid:plan_id>/", views.safety_plan_version, name="safety_plan_version"),
]
