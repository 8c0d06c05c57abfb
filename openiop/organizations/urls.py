from django.urls import path

from openiop.organizations import views

app_name = "organizations"
urlpatterns = [
    path("", views.settings_home, name="home"),
    path("sites/new/", views.site_form, name="site_new"),
    path("sites/<uuid:public_id>/", views.site_form, name="site_edit"),
    path("programs/new/", views.program_form, name="program_new"),
    path("programs/<uuid:public_id>/", views.program_form, name="program_edit"),
    path("payers/new/", views.payer_form, name="payer_new"),
    path("payers/<uuid:public_id>/", views.payer_form, name="payer_edit"),
    path("staff/new/", views.staff_form, name="staff_new"),
    path("staff/<uuid:public_id>/", views.staff_form, name="staff_edit"),
]
