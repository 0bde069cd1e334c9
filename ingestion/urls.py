"""Ingestion screens."""

from django.urls import path

from ingestion import views, views_files

app_name = "ingestion"
urlpatterns = [
    path("", views.batch_list, name="batches"),
    path("rows/", views.batch_rows, name="batch-rows"),
    path("export.csv", views_files.batch_export, name="batch-export"),
    path("templates/<str:kind>.csv", views_files.kind_template, name="kind-template"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch-progress"),
    path("batches/<int:pk>/retry/", views.batch_retry, name="batch-retry"),
    path("batches/<int:pk>/records/<int:row>/", views.record_correct, name="record-correct"),
]
