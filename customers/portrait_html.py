"""The portrait matrix's table as HTML, written in Python (issue 15).

A product line of 406 products against six segments is 2,436 checkboxes, each a dozen
variable lookups and tags through the template engine: 61 of the page's 64 ms were
Python (2,030 products, bench_pages). Same markup as the loops in customers/portrait.html
gave (a test compares them); every value escaped, each segment's and product's once.
"""

from django.utils.safestring import SafeString, mark_safe

from .agenda_row import escape_text


def portrait_head(products) -> SafeString:
    """One header cell per product: its name over its line's."""
    parts = []
    for product in products:
        line = escape_text(str(product.line)) if product.line else ""
        name = escape_text(product.name)
        parts.append(f'<th class="small" title="{line}">{name}<br><span class="text-muted">{line}</span></th>')
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped


def portrait_rows(segments, products, marks: set[tuple[int, int]], can_edit: bool) -> SafeString:
    """One row per segment, one checkbox per product, ticked where (segment id, product id)
    is in `marks`; disabled for those who cannot edit."""
    disabled = "" if can_edit else " disabled"
    names = [(product.pk, escape_text(product.name)) for product in products]
    rows = []
    for segment in segments:
        name = escape_text(segment.name)
        cells = "".join(
            f'<td>\n      <input class="form-check-input" type="checkbox" name="mark" value="{segment.pk}-{pk}" '
            f'aria-label="{name}: {product}"\n        {"checked" if (segment.pk, pk) in marks else ""}{disabled}></td>'
            for pk, product in names
        )
        rows.append(f'<tr><th class="text-start">{name}</th>\n    {cells}</tr>\n  ')
    return mark_safe("".join(rows))  # noqa: S308 -- every value above is escaped
