from django.urls import path

from . import deal_views, views

app_name = "sales_pipeline"
urlpatterns = [
    path("settlements/", views.SettlementLineListView.as_view(), name="settlement_list"),
    path("settlements/imports/", views.SettlementImportListView.as_view(), name="settlement_import_list"),
    path("settlements/imports/new/", views.SettlementImportCreateView.as_view(), name="settlement_import"),
    path("settlements/imports/<int:pk>/", views.SettlementImportDetailView.as_view(), name="settlement_import_detail"),
    path(
        "settlements/imports/<int:pk>/progress/",
        views.SettlementImportProgressView.as_view(),
        name="settlement_import_progress",
    ),
]
urlpatterns = [*urlpatterns, *deal_views.urlpatterns]
