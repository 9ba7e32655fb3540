"""Found by tests/reliability/test_fuzz.py: ?per_page=-1 was a 500 on every list page."""

import pytest
from django.urls import reverse

from crm_project.paging import MAX_PER_PAGE, sane_per_page
from tests.factories import CustomerFactory


@pytest.mark.parametrize("raw,expected", [("25", "25"), ("-1", None), ("0", None), ("x", None),
                                          (str(10**12), str(MAX_PER_PAGE))])
def test_per_page_is_kept_in_range(raw, expected):
    assert sane_per_page(raw) == expected


@pytest.mark.parametrize("name", ["customers:customer_list", "complaints:complaint_list",
                                  "sales_pipeline:settlement_import_list", "customers:managed_base"])
@pytest.mark.parametrize("per_page", ["-1", "0", "-1404025387", "99999999999"])
def test_list_pages_survive_any_per_page(name, per_page, admin_user, client_for):
    CustomerFactory()
    assert client_for(admin_user).get(reverse(name), {"per_page": per_page, "page": "0"}).status_code == 200
