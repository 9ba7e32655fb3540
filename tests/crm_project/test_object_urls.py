"""crm_project.object_urls: the same address as reverse(), from a cached shape."""

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix

from crm_project.object_urls import object_url

VIEWS = [
    "customers:customer_detail",
    "customers:interaction_create",
    "customers:planned_contact_move",
    "customers:planned_contact_cancel",
    "sales_pipeline:deal_detail",
    "sales_pipeline:deal_move",
    "complaints:complaint_detail",
]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("pk", [0, 1, 7, 42, 1234567, 10**12])
def test_object_url_is_reverse(view, pk):
    assert object_url(view, pk) == reverse(view, args=[pk])
    assert object_url(view, pk) == reverse(view, args=[pk])  # from the cache


def test_object_url_follows_the_script_prefix():
    plain = object_url("customers:customer_detail", 5)
    set_script_prefix("/crm/")
    try:
        assert object_url("customers:customer_detail", 5) == reverse("customers:customer_detail", args=[5])
        assert object_url("customers:customer_detail", 5).startswith("/crm/")
    finally:
        clear_script_prefix()
    assert object_url("customers:customer_detail", 5) == plain


def test_object_url_leaves_anything_but_a_plain_id_to_reverse():
    from django.urls import NoReverseMatch

    assert object_url("customers:customer_detail", "12") == reverse("customers:customer_detail", args=["12"])
    with pytest.raises(NoReverseMatch):
        object_url("customers:customer_detail", -1)
    with pytest.raises(NoReverseMatch):
        object_url("customers:customer_list", 3)  # a view without an argument


def test_object_url_tag():
    html = Template("{% load crm_urls %}{% object_url 'sales_pipeline:deal_move' 9 as u %}[{{ u }}]").render(Context())
    assert html == f"[{reverse('sales_pipeline:deal_move', args=[9])}]"


def test_no_url_is_translated_so_the_cache_needs_no_language():
    from django.utils import translation

    english = object_url("customers:customer_detail", 3)
    with translation.override("de"):
        assert reverse("customers:customer_detail", args=[3]) == english == object_url("customers:customer_detail", 3)


def test_page_url_is_reverse_and_follows_the_script_prefix():
    from crm_project.object_urls import page_url

    for view in ("home", "search", "logout", "customers:agenda", "sales_pipeline:deal_board"):
        assert page_url(view) == reverse(view)
    set_script_prefix("/crm/")
    try:
        assert page_url("home") == reverse("home") and page_url("home").startswith("/crm/")
    finally:
        clear_script_prefix()
