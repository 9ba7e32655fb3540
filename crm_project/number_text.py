"""Numbers written in Python (KPI tables, charts, e-mails) as a person reads them: grouped,
with the thousands and decimal separators of the active language, as floatformat:"Ng"
draws them in a template. English reads "1,234.50", French "1 234,50"."""

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import formats, numberformat
from django.utils.formats import FORMAT_SETTINGS
from django.utils.translation import get_language

_formats: dict[str | None, tuple[str, int, str]] = {}


def reader_format() -> tuple[str, int, str]:
    """The active language's decimal separator, grouping and thousands separator, kept per
    language (three get_format calls per number were a few per cent of a KPI table)."""
    language = get_language()
    known = _formats.get(language)
    if known is None:
        known = _formats[language] = (
            formats.get_format("DECIMAL_SEPARATOR"),
            formats.get_format("NUMBER_GROUPING"),
            formats.get_format("THOUSAND_SEPARATOR"),
        )
    return known


@receiver(setting_changed)
def _forget_formats(*, setting, **kwargs):
    """Tests that change the format settings read their own separators."""
    if setting in FORMAT_SETTINGS or setting in {"FORMAT_MODULE_PATH", "LANGUAGE_CODE", "USE_L10N"}:
        _formats.clear()


def grouped(value, places: int = 0, number_format: tuple[str, int, str] | None = None) -> str:
    """`value` with `places` decimals (Python's rounding, as f"{value:,.2f}"), its thousands
    grouped, in `number_format` (reader_format() by default)."""
    decimal_sep, grouping, thousand_sep = number_format or reader_format()
    if grouping == 3:  # Python's own grouping, its separators swapped in one pass: a chart has thousands
        return f"{value:,.{places}f}".translate({44: thousand_sep, 46: decimal_sep})
    return numberformat.format(
        f"{value:.{places}f}", decimal_sep, places, grouping, thousand_sep, force_grouping=True, use_l10n=True
    )
