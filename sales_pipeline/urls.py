from django.urls import path

from .views import actions, board, deals, documents, ledger, reports

app_name = "sales_pipeline"
urlpatterns = [
    # the ledger
    path("settlements/", ledger.SettlementLineListView.as_view(), name="settlement_list"),
    path("settlements/imports/", ledger.SettlementImportListView.as_view(), name="settlement_import_list"),
    path("settlements/imports/new/", ledger.SettlementImportCreateView.as_view(), name="settlement_import"),
    path("settlements/imports/<int:pk>/", ledger.SettlementImportDetailView.as_view(), name="settlement_import_detail"),
    path(
        "settlements/imports/<int:pk>/progress/",
        ledger.SettlementImportProgressView.as_view(),
        name="settlement_import_progress",
    ),
    # the deals
    path("deals/", board.deal_board, name="deal_board"),
    path("deals/list/", deals.DealListView.as_view(), name="deal_list"),
    path("deals/new/", deals.deal_create, name="deal_create"),
    path("deals/control-points/", reports.control_points, name="control_points"),
    path("deals/funnel/", reports.funnel, name="funnel"),
    path("deals/<int:pk>/", deals.DealDetailView.as_view(), name="deal_detail"),
    path("deals/<int:pk>/edit/", deals.deal_update, name="deal_update"),
    path("deals/<int:pk>/stage-data/", deals.deal_stage_save, name="deal_stage_save"),
    path("deals/<int:pk>/move/", board.deal_move, name="deal_move"),
    path("deals/<int:pk>/lose/", actions.deal_lose, name="deal_lose"),
    path("deals/<int:pk>/close/", actions.deal_close, name="deal_close"),
    path("deals/<int:pk>/payments/", actions.deal_payment, name="deal_payment"),
    path("deals/<int:pk>/contract-changes/", actions.deal_contract_change, name="deal_contract_change"),
    path("deals/<int:pk>/documents/preview/", documents.deal_document_preview, name="deal_document_preview"),
    path("deals/<int:pk>/documents/generate/", documents.deal_document_generate, name="deal_document_generate"),
    path("deals/<int:pk>/documents/upload/", documents.deal_document_upload, name="deal_document_upload"),
    path("deals/documents/<int:pk>/", documents.deal_document, name="deal_document"),
    path("deals/documents/<int:pk>/sent/", documents.deal_document_sent, name="deal_document_sent"),
]
