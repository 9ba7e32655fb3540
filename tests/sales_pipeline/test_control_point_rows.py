"""Issue 15: the control points page's rows drawn in Python (sales_pipeline.control_point_rows)."""

from datetime import date

from sales_pipeline.control_point_rows import control_point_rows
from sales_pipeline.control_points import ControlPoint
from sales_pipeline.models import Stage


def test_the_control_point_rows_drawn_in_python_escape_every_value():
    point = ControlPoint(
        kind="offer_expired", due=date(2026, 3, 5), deal_id=7, title="<b>Big</b> & co", customer_id=9,
        customer_name='Oak "Ltd"', manager_id=1, manager_name="M", stage=Stage.OFFER, today=date(2026, 3, 9),
    )  # fmt: skip
    html = str(control_point_rows([point]))
    assert html == (
        '<tr class="control-point control-point-offer_expired"><td class="text-nowrap">5 Mar 2026</td>'
        f'<td>Offer expired</td><td><a href="{point.deal_url}">&lt;b&gt;Big&lt;/b&gt; &amp; co</a></td>'
        f'<td><a href="{point.customer_url}">Oak &quot;Ltd&quot;</a></td><td>Commercial offer</td>'
        '<td class="text-end">4</td></tr>'
    )
    assert str(control_point_rows([])) == ""
