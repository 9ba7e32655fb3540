"""Hostile text in every text field of every row of our apps, for the XSS and export
tests: whatever a page, fragment, chart or export renders, it renders this."""

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse

from tests.customers.test_access import NOT_OWNED, OBJECT_URLS
from tests.urlmap import PUBLIC, all_url_patterns, url_kwargs

OUR_APPS = {"customers", "sales_pipeline", "segmentation", "loyalty", "complaints", "reporting"}
# Text that rules or URLs read as data, not as words to show: left alone.
SKIP_FIELDS = {"file", "token", "number", "sku", "normalized_name", "external_ref", "email"}


def text_fields(model):
    for field in model._meta.concrete_fields:
        if (
            isinstance(field, models.CharField | models.TextField)
            and not field.choices
            and not field.primary_key
            and field.name not in SKIP_FIELDS
            and not isinstance(field, models.FileField)
        ):
            yield field


def fill_text_fields(texts: list[str]) -> int:
    """Every text field of every row of our apps (and people's names) set to the longest
    of `texts` that fits. Returns how many fields were filled."""
    filled = 0
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS or model._meta.proxy or not model._meta.managed:
            continue
        values = {}
        for field in text_fields(model):
            fitting = [text for text in texts if not field.max_length or len(text) + 10 <= field.max_length]
            if fitting:
                # the row's id after the text keeps unique columns unique
                values[field.name] = Concat(Value(max(fitting, key=len)), Cast("pk", models.CharField()))
        if values and model._default_manager.exists():
            model._default_manager.update(**values)
            filled += len(values)
    get_user_model().objects.update(first_name=texts[0][:150], last_name=texts[-1][:150])
    return filled


def every_page(objects) -> list[tuple[str, str]]:
    """(name, url) of every named URL outside admin, ids from `objects` (mgr_a's records)."""
    pages = []
    for name, _, pattern in all_url_patterns():
        if name in {"logout"} or name in NOT_OWNED and name not in OBJECT_URLS:
            continue
        kwargs = OBJECT_URLS[name](objects) if name in OBJECT_URLS else {}
        if url_kwargs(pattern) and not kwargs:
            continue
        pages.append((name, reverse(name, kwargs=kwargs)))
    return pages


__all__ = ["PUBLIC", "every_page", "fill_text_fields"]
