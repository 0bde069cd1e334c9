"""837P export screen routes (issue 13, part x837), under /claims/."""

from django.urls import path

from denials import views_export as v

urlpatterns = [
    path("export-837/", v.export_837, name="export_837"),
    path("export-837/<int:pk>/file/", v.export_837_file, name="export_837_file"),
]
