"""Configuration models only (hour rules, per-program settings): no patient data."""

from django.contrib import admin

from openiop.attendance.models import AttendanceSettings, HourRequirement
from openiop.core.admin_site import admin_site


class HourRequirementAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "scope", "program", "payer", "plan_type", "adult_min_hours")
    list_filter = ("scope", "is_active")


admin_site.register(HourRequirement, HourRequirementAdmin)
admin_site.register(AttendanceSettings, admin.ModelAdmin)
