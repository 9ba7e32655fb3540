"""The card's product row as HTML, written in Python (issue 15).

A segment's ten target products drew some 600 variable lookups and filters through the
template engine (a badge per product, then an option per product), a tenth of the
card's Python time. Same markup as the loop in customers/_card_products.html gave;
every value escaped. Cells: selectors.profiles.customer_product_row.
"""

from django.utils import formats
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .agenda_row import escape_text
from .models import CustomerProduct


def product_badges(product_row: list[dict]) -> SafeString:
    """One badge per cell: the product, its status and the status date (or "Not offered")."""
    escape = escape_text  # conditional_escape, plain text through the standard library
    labels = dict(CustomerProduct.Status.choices)
    # looked up once a row, not once a cell (a gettext and a date format each cost ~10-30 us)
    not_offered = escape(_("Not offered"))
    dates: dict = {}
    parts = []
    for cell in product_row:
        product, status = cell["product"], cell["status"]
        title = escape(str(product))
        if status is not None and status.refusal_reason:
            title += ": " + escape(status.refusal_reason)
        if status is not None:
            text = escape(str(labels.get(status.status, status.status)))
            if status.status_date:
                day = dates.get(status.status_date)
                if day is None:
                    day = dates[status.status_date] = escape(formats.date_format(status.status_date, "j M y"))
                text += " " + day
        else:
            text = not_offered
        faded = "" if cell["target"] else " opacity-75"
        parts.append(
            f'\n      <span class="badge product-status status-{escape(cell["code"])}{faded}" title="{title}">'
            f"{escape(product.name)}: {text}</span>\n    "
        )
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped


def product_options(product_row: list[dict]) -> SafeString:
    """The status form's product choices, in the row's order."""
    escape = conditional_escape
    return mark_safe(  # noqa: S308 -- every value is escaped
        "".join(
            f'<option value="{cell["product"].pk}">{escape(cell["product"].name)}</option>' for cell in product_row
        )
    )
