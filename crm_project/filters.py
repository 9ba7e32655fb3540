"""Filter pieces every app's list pages share."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads "Any" (django-filter's reads "Unknown",
    which a person takes for a value)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]))
        super().__init__(*args, **kwargs)


class ValuesChoiceIterator(ModelChoiceIterator):
    """A model choice field's options read as values (the key and the fields of the
    label), not as model instances (issue 15): the complaint and survey lists' product
    filter made 2,000 Product objects on every page, a third of the page's time. The
    options are the same (value = the key, label = `label_from_values` of the fields, which
    must equal str() of the instance)."""

    def head(self) -> list[tuple]:
        """The choices before the model's: the empty and the null one, when set."""
        field = self.field
        head = []
        if field.empty_label is not None:
            head.append(("", field.empty_label))
        if field.null_label is not None:
            head.append((field.null_value, field.null_label))
        return head

    def rows(self) -> list[tuple]:
        """The model's rows as (key, *label_fields): one query, fetched at once
        (ModelChoiceIterator's .iterator() opens a server-side cursor on PostgreSQL)."""
        return list(self.queryset.values_list("pk", *self.field.label_fields))

    def __iter__(self):
        yield from self.head()
        label = self.field.label_from_values
        for key, *values in self.rows():
            yield (key, label(*values))


class ValuesModelChoiceField(ModelChoiceField):
    iterator = ValuesChoiceIterator

    def __init__(self, *args, label_fields=(), label_from_values=None, **kwargs):
        self.label_fields = tuple(label_fields)
        self.label_from_values = label_from_values
        super().__init__(*args, **kwargs)


class ValuesModelChoiceFilter(django_filters.ModelChoiceFilter):
    """ModelChoiceFilter whose options come from `label_fields` through
    `label_from_values` (ValuesChoiceIterator); filtering and validation are the same."""

    field_class = ValuesModelChoiceField
