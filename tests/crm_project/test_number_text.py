"""Numbers written in Python read as the template's floatformat:"Ng" draws them, in the
active language's separators (crm_project.number_text), in tables and charts."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from crm_project import charts
from crm_project.number_text import grouped
from reporting.kpi_table import shown

FLOATFORMAT = Template('{{ value|floatformat:"2g" }}')


@pytest.mark.parametrize("language, expected, negative", [("en-gb", "1,234,567.89", "-1,234"),
                                                          ("fr", "1\xa0234\xa0567,89", "-1\xa0234"),
                                                          ("ru", "1\xa0234\xa0567,89", "-1\xa0234")])  # fmt: skip
def test_grouped_reads_as_the_templates_floatformat(language, expected, negative):
    with translation.override(language):
        for value in (1234567.891, Decimal("1234567.891")):
            assert grouped(value, 2) == expected == FLOATFORMAT.render(Context({"value": value}))
        assert grouped(-1234, 0) == negative


def test_a_grouping_other_than_threes():
    assert grouped(12345678, 0, (".", (3, 2, 0), ",")) == "1,23,45,678"


def test_the_kpi_tables_figures_and_a_charts_numbers_in_french():
    with translation.override("fr"):
        assert shown(Decimal("152886.05"), "amount") == "152\xa0886,05"
        assert shown(Decimal("0.75"), "share") == "75,0 %"
        assert shown(12345, "count") == "12\xa0345"
        chart = charts.bar_chart(["Mai"], [("Revenu", [Decimal("1234.5")])])
        assert "Mai · Revenu: 1\xa0234</title>" in chart and "1,234" not in chart
    assert shown(Decimal("152886.05"), "amount") == "152,886.05"
    assert "May · Revenue: 1,234</title>" in charts.bar_chart(["May"], [("Revenue", [Decimal("1234.5")])])


def test_the_separators_follow_a_changed_setting(settings):
    settings.FORMAT_MODULE_PATH = None
    with translation.override(None):  # no language: the settings' own separators
        settings.DECIMAL_SEPARATOR, settings.THOUSAND_SEPARATOR, settings.NUMBER_GROUPING = ".", ",", 3
        assert grouped(1234.5, 1) == "1,234.5"
        settings.DECIMAL_SEPARATOR, settings.THOUSAND_SEPARATOR = "·", "'"
        assert grouped(1234.5, 1) == "1'234·5"
