from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

# simple_history gives its own columns no label: Django derives "history date" and so on
# from their names, in English only. The same words, marked for translation.
HISTORY_FIELD_LABELS = {
    "history_id": _("history id"),
    "history_date": _("history date"),
    "history_change_reason": _("history change reason"),
    "history_type": _("history type"),
    "history_user": _("history user"),
}


class LabelledHistoricalRecords(HistoricalRecords):
    """HistoricalRecords whose own columns' labels go through translation."""

    def get_extra_fields(self, model, fields):
        extra = super().get_extra_fields(model, fields)
        for name, label in HISTORY_FIELD_LABELS.items():
            if name in extra and hasattr(extra[name], "verbose_name"):
                extra[name].verbose_name = label
        return extra
