"""Numbers written in Python (KPI tables, charts, e-mails) as a person reads them: grouped,
with the thousands and decimal separators of the active language, as floatformat:"Ng"
draws them in a template. English reads "1,234.50", French "1 234,50"."""

from django.utils import formats, numberformat


def reader_format() -> tuple[str, int, str]:
    """The active language's decimal separator, grouping and thousands separator: read once
    per table row or chart, not per number."""
    return (
        formats.get_format("DECIMAL_SEPARATOR"),
        formats.get_format("NUMBER_GROUPING"),
        formats.get_format("THOUSAND_SEPARATOR"),
    )


def grouped(value, places: int = 0, number_format: tuple[str, int, str] | None = None) -> str:
    """`value` with `places` decimals (Python's rounding, as f"{value:,.2f}"), its thousands
    grouped, in `number_format` (reader_format() by default)."""
    decimal_sep, grouping, thousand_sep = number_format or reader_format()
    if grouping == 3:  # Python's own grouping, its separators swapped in one pass: a chart has thousands
        return f"{value:,.{places}f}".translate({44: thousand_sep, 46: decimal_sep})
    return numberformat.format(
        f"{value:.{places}f}", decimal_sep, places, grouping, thousand_sep, force_grouping=True, use_l10n=True
    )
