"""sales_pipeline holds two things, kept apart: the settlement ledger (ledger.py) and the
deals of the six-stage pipeline (deals.py). Other apps import the names from here."""

from .deals import (
    ContractChange,
    Deal,
    DealDocument,
    DealLine,
    DealQuerySet,
    DocumentTemplate,
    OpenDealTotal,
    Payment,
    RefusalReason,
    RetryDue,
    Stage,
    StageChange,
)
from .journeys import DealJourney, FunnelDay
from .ledger import (
    MONEY_DIGITS,
    MONEY_PLACES,
    FirstPurchases,
    SettlementDay,
    SettlementImport,
    SettlementLine,
    SettlementLineQuerySet,
)

__all__ = [
    "MONEY_DIGITS",
    "MONEY_PLACES",
    "ContractChange",
    "Deal",
    "DealDocument",
    "DealJourney",
    "DealLine",
    "DealQuerySet",
    "DocumentTemplate",
    "FirstPurchases",
    "FunnelDay",
    "OpenDealTotal",
    "Payment",
    "RefusalReason",
    "RetryDue",
    "SettlementDay",
    "SettlementImport",
    "SettlementLine",
    "SettlementLineQuerySet",
    "Stage",
    "StageChange",
]
