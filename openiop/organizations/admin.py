from django.contrib import admin

from openiop.core.admin_site import admin_site
from openiop.organizations.models import Organization, Payer, Program, Site

# Configuration only. No patient or clinical model is registered with the admin:
# administrators configure the system but do not read charts (least privilege).
for model in (Organization, Site, Program, Payer):
    admin_site.register(model, admin.ModelAdmin)
