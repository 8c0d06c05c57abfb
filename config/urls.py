from django.urls import include, path

from openiop.core import views as core_views
from openiop.core.admin_site import admin_site

urlpatterns = [
    path("", include("openiop.core.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("accounts/", include("openiop.accounts.urls")),
    path("patients/", include("openiop.patients.urls")),
    path("patients/", include("openiop.episodes.urls")),
    path("settings/", include("openiop.organizations.urls")),
    path("audit/", include("openiop.audit.urls")),
    path("", include("openiop.alerts.urls")),
    path("intake/", include("openiop.intake.urls")),
    path("screening/", include("openiop.screening.urls")),
    path("assessments/", include("openiop.assessments.urls")),
    path("consents/", include("openiop.consents.urls")),
    path("scheduling/", include("openiop.scheduling.urls")),
    path("attendance/", include("openiop.attendance.urls")),
    path("reminders/", include("openiop.reminders.urls")),
    path("plans/", include("openiop.plans.urls")),
    path("homework/", include("openiop.homework.urls")),
    path("notes/", include("openiop.notes.urls")),
    path("admin/", admin_site.urls),
]
