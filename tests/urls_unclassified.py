from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def unclassified(request: HttpRequest) -> HttpResponse:
    return HttpResponse("should never be served")


urlpatterns = [path("unclassified/", unclassified), path("", include("config.urls"))]
