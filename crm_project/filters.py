"""Filter pieces every app's list pages share."""

import django_filters
from django import forms
from django.db.models import QuerySet
from django.forms import ChoiceField
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelChoiceField, ModelChoiceIterator
from django_filters.filters import QuerySetRequestMixin

from .prepared import Prepared


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

    def __init__(self, field):
        # The queryset is the field's, read when needed: options given as rows
        # (ValuesModelChoiceField `rows`) do not build it.
        self.field = field

    @property
    def queryset(self):
        return self.field.queryset

    def rows(self) -> list[tuple]:
        """The model's rows as (key, *label_fields): one query, fetched at once
        (ModelChoiceIterator's .iterator() opens a server-side cursor on PostgreSQL), or the
        field's `rows` when it has them."""
        if self.field.rows is not None:
            return self.field.rows()
        return list(self.queryset.values_list("pk", *self.field.label_fields))

    def __iter__(self):
        yield from self.head()
        label = self.field.label_from_values
        for key, *values in self.rows():
            yield (key, label(*values))


class ValuesModelChoiceField(ModelChoiceField):
    """`rows`, when given, is a function without arguments giving the options' rows as
    ValuesChoiceIterator.rows would read them; `queryset` may then be a function without
    arguments too, called the first time the queryset is needed (to validate a chosen key)."""

    iterator = ValuesChoiceIterator

    def __init__(self, queryset, *args, label_fields=(), label_from_values=None, rows=None, options_key=None,
                 **kwargs):
        self.label_fields = tuple(label_fields)
        self.label_from_values = label_from_values
        self.rows = rows
        self._options_key = options_key
        self._make_queryset = None
        if callable(queryset) and not isinstance(queryset, QuerySet):
            self._make_queryset, queryset = queryset, None
        super().__init__(queryset, *args, **kwargs)

    @property
    def queryset(self):
        if self._queryset is None and self._make_queryset is not None:
            made = self._make_queryset()
            self._queryset = None if made is None else made.all()
        return self._queryset

    @queryset.setter
    def queryset(self, queryset):
        ModelChoiceField._set_queryset(self, queryset)

    def __deepcopy__(self, memo):
        if self._queryset is not None or self._make_queryset is None:
            return super().__deepcopy__(memo)
        # ModelChoiceField's copy without building the queryset: the copy builds its own
        result = super(ChoiceField, self).__deepcopy__(memo)
        result.widget.choices = result.choices
        return result

    @property
    def options_key(self):
        """What the options drawn once (crm_project.form_tags) are kept under: the key given
        (a filter's `options`, the same object on every request), the rows' function, or
        the queryset's model."""
        if self._options_key is not None:
            return self._options_key
        return self.rows if self.rows is not None else self.queryset.model


class ValuesModelChoiceFilter(django_filters.ModelChoiceFilter):
    """ModelChoiceFilter whose options come from `label_fields` through
    `label_from_values` (ValuesChoiceIterator); filtering and validation are the same.
    With `options` (a function of the request giving the rows, prepared_options), the
    options are read through it and the queryset is built only to validate a chosen key."""

    field_class = ValuesModelChoiceField

    def __init__(self, *args, options=None, **kwargs):
        self.options = options
        super().__init__(*args, **kwargs)

    @property
    def field(self):
        if self.options is None:
            return super().field
        request = self.get_request()
        self.extra["queryset"] = lambda: self.get_queryset(request)
        self.extra["rows"] = lambda: self.options(request)
        # Kept under `options`, not the rows' function made for this request: under that
        # the drawn options were never found again, and a new copy was kept per request.
        self.extra["options_key"] = self.options
        return super(QuerySetRequestMixin, self).field


def prepared_options(build, label_fields, shape=lambda request: ()):
    """`options` for a ValuesModelChoiceFilter, read through a statement compiled once per
    shape (crm_project.prepared; issue 15: building and compiling the options' query was a
    tenth of a list page): `shape(request)` gives the shape (None: no options), `build(*shape)`
    the queryset of the options, the same as the filter's `queryset` gives for that request."""
    prepared = Prepared(lambda *shape: build(*shape).values_list("pk", *label_fields))

    def options(request) -> list[tuple]:
        key = shape(request)
        return [] if key is None else prepared.tuples(*key)

    return options
