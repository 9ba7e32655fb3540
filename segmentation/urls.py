from django.urls import path

from . import views

app_name = "segmentation"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("lifecycle/", views.lifecycle, name="lifecycle"),
    path("changes/", views.ClassChangeListView.as_view(), name="class_changes"),
    path("nudge/", views.nudge, name="nudge"),
    path("export/", views.segment_export, name="segment_export"),
    path("runs/", views.run_list, name="run_list"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
]
