from django.urls import path

from . import deal_views, views

app_name = "sales_pipeline"
urlpatterns = [
    path("", views.SettlementLineListView.as_view(), name="settlement_list"),
    path("imports/", views.SettlementImportListView.as_view(), name="settlement_import_list"),
    path("imports/new/", views.SettlementImportCreateView.as_view(), name="settlement_import"),
    path("imports/<int:pk>/", views.SettlementImportDetailView.as_view(), name="settlement_import_detail"),
    path(
        "imports/<int:pk>/progress/",
        views.SettlementImportProgressView.as_view(),
        name="settlement_import_progress",
    ),
]
urlpatterns = [*urlpatterns, *deal_views.urlpatterns]
