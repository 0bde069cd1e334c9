"""Ingestion API routes (seed 003)."""

from django.urls import path

from ingestion.api import views

urlpatterns = [
    path("artifacts", views.ArtifactListCreateView.as_view(), name="api-artifacts"),
    path("artifacts/<int:pk>", views.ArtifactDetailView.as_view(), name="api-artifact"),
    path("batches", views.BatchListCreateView.as_view(), name="api-batches"),
    path("batches/<int:pk>", views.BatchDetailView.as_view(), name="api-batch"),
    path("batches/<int:pk>/records", views.BatchRecordListView.as_view(), name="api-batch-records"),
    path(
        "batches/<int:pk>/records/<int:row>",
        views.BatchRecordCorrectView.as_view(),
        name="api-batch-record",
    ),
    path("batches/<int:pk>/retry", views.BatchRetryView.as_view(), name="api-batch-retry"),
]
