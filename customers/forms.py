from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_project.dates import business_today
from crm_project.filters import ValuesModelChoiceField, prepared_options

from .access import assignable_managers
from .models import Contact, Customer, CustomerCompetitor, Product

# Fields only one kind of customer has; the form hides the other kind's (static/customers/profile.js).
COMPANY_ONLY = ("employees", "has_branches", "year_founded")
PERSON_ONLY = ("birthday",)
EARLIEST_YEAR_FOUNDED = 1800


def profile_errors(*, kind, employees, has_branches, year_founded, birthday, today) -> dict[str, str]:
    """The rules within one customer's profile, as {field: message}. Shared by the form
    and the import (it would be Customer.clean(), but the models are frozen)."""
    errors = {}
    if year_founded is not None and year_founded > today.year:
        errors["year_founded"] = _("The year founded cannot be in the future.")
    elif year_founded is not None and year_founded < EARLIEST_YEAR_FOUNDED:
        errors["year_founded"] = _("The year founded cannot be before %(year)s.") % {"year": EARLIEST_YEAR_FOUNDED}
    if employees is not None and employees < 0:
        errors["employees"] = _("The number of employees cannot be negative.")
    if birthday is not None and birthday > today:
        errors["birthday"] = _("The birthday cannot be in the future.")
    if kind == Customer.Kind.PERSON:
        for name, value in (("employees", employees), ("year_founded", year_founded)):
            if value is not None:
                errors.setdefault(name, _("Only a company has this; leave it empty for a person."))
        if has_branches:
            errors["has_branches"] = _("Only a company has branches.")
    elif kind == Customer.Kind.COMPANY and birthday is not None:
        errors.setdefault("birthday", _("Only a person has a birthday; leave it empty for a company."))
    return errors


#
# The customer
#


def _as_id(value) -> int | None:
    """`value` as a database id (a positive 64-bit integer), or None."""
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None


class CustomerPicker(forms.Select):
    """A select that renders only the chosen customer: the others arrive by an htmx
    search (customers:customer_options), since a director may see 50,000 of them."""

    def optgroups(self, name, value, attrs=None):
        chosen = [v for v in value if v not in ("", None)]
        choices = [("", "—")]
        # A re-rendered form may carry anything that was posted: only an id is looked up.
        ids = [pk for pk in map(_as_id, chosen[:1]) if pk is not None]
        if ids and hasattr(self.choices, "queryset"):
            choices += [(c.pk, str(c)) for c in self.choices.queryset.filter(pk__in=ids)]
        groups = []
        for index, (option_value, label) in enumerate(choices):
            selected = str(option_value) in chosen
            groups.append((None, [self.create_option(name, option_value, label, selected, index)], index))
        return groups


def active_products():
    """The products that may still be offered, sold or asked about."""
    return Product.objects.filter(is_active=True)


def all_products():
    return Product.objects.all()


# Read as values through a compiled statement and drawn once while they do not change
# (crm_project.form_tags): every form that offered products built the catalogue's 2,000
# products as model instances each time it was drawn (issue 15).
_PRODUCT_OPTIONS = {
    True: prepared_options(active_products, ("name", "sku")),
    False: prepared_options(all_products, ("name", "sku")),
}


def product_field(*, active_only: bool = True, queryset=None, **kwargs) -> ValuesModelChoiceField:
    """A choice among the products (the active ones only, or all: a row that names a product
    no longer sold keeps it), each labelled as str() gives it. `queryset`, a function giving
    the same products, is called only to check a chosen one (and may select_related what the
    form's user needs of it)."""
    options = _PRODUCT_OPTIONS[active_only]
    return ValuesModelChoiceField(
        queryset or (active_products if active_only else all_products),
        label_fields=("name", "sku"),
        label_from_values=Product.label,
        rows=lambda: options(None),
        rows_key=options,
        **kwargs,
    )


class CustomerForm(forms.ModelForm):
    save_anyway = forms.BooleanField(
        required=False,
        label=gettext_lazy("Save anyway: this is not one of the customers above"),
        widget=forms.CheckboxInput(),
    )

    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "external_ref",
            "tax_id",
            "manager",
            "industry",
            "activity_type",
            "client_type",
            "employees",
            "has_branches",
            "year_founded",
            "birthday",
            "city",
            "email",
            "phone",
            "acquisition_channel",
            "referred_by",
            "relationship_type",
            "psychotype",
            "notes",
        ]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 4}),
            "birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "kind": forms.Select(attrs={"data-customer-kind": ""}),
            "referred_by": CustomerPicker(),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        managers = assignable_managers(user)
        if managers.exists():
            self.fields["manager"].queryset = managers
        else:
            # Only directors and admins assign; a manager's customers stay theirs.
            del self.fields["manager"]
        # Only customers the user may see can be named as the referrer.
        referrers = Customer.objects.visible_to(user)
        if self.instance.pk:
            referrers = referrers.exclude(pk=self.instance.pk)
        self.fields["referred_by"].queryset = referrers
        self.fields["referred_by"].widget.attrs["class"] = "form-select"
        self.fields["employees"].widget.attrs["min"] = 0
        self.fields["year_founded"].widget.attrs.update(min=EARLIEST_YEAR_FOUNDED, max=business_today().year)

    def clean_tax_id(self):
        # Stored without spaces, so "GB 123 456" and "GB123456" are the same tax id.
        return "".join(self.cleaned_data["tax_id"].split())

    def clean(self):
        cleaned = super().clean()
        errors = profile_errors(
            kind=cleaned.get("kind"),
            employees=cleaned.get("employees"),
            has_branches=cleaned.get("has_branches"),
            year_founded=cleaned.get("year_founded"),
            birthday=cleaned.get("birthday"),
            today=business_today(),
        )
        for name, message in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def identity_changed(self) -> bool:
        """Whether a field the duplicate check compares changed (always on create)."""
        return self.instance.pk is None or bool({"name", "tax_id", "email", "phone"} & set(self.changed_data))


#
# Contacts and competitors, edited on the customer's page
#


class _RowForm(forms.ModelForm):
    """A formset row: compact Bootstrap inputs, labels in the table header."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.help_text = ""  # the table header says it; no dangling aria-describedby
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")
            widget.attrs.setdefault("aria-label", field.label)


class ContactForm(_RowForm):
    class Meta:
        model = Contact
        fields = ["name", "position", "phone", "email", "birthday", "is_primary"]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean_birthday(self):
        birthday = self.cleaned_data["birthday"]
        if birthday and birthday > business_today():
            raise forms.ValidationError(_("The birthday cannot be in the future."))
        return birthday


class CustomerCompetitorForm(_RowForm):
    # every product (a row may name one no longer sold), read as values
    product = product_field(active_only=False, required=False, label=gettext_lazy("Product"))

    class Meta:
        model = CustomerCompetitor
        fields = ["competitor", "product", "notes"]


class _CachedChoicesFormSet(forms.BaseInlineFormSet):
    """Every row's selects share one list of choices: one query per select, not per row."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._choices = {}

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget.attrs.update({"class": "form-check-input", "aria-label": _("Delete")})

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        for name, field in form.fields.items():
            # Only visible selects: the hidden "id" field is a ModelChoiceField too.
            if isinstance(field, forms.ModelChoiceField) and isinstance(field.widget, forms.Select):
                if name not in self._choices:
                    self._choices[name] = list(field.choices)
                field.widget.choices = self._choices[name]
        return form


class ContactFormSet(_CachedChoicesFormSet):
    def clean(self):
        super().clean()
        primaries = [
            form
            for form in self.forms
            if form.cleaned_data.get("is_primary") and not self._should_delete_form(form) and form.has_changed()
        ]
        if len(primaries) > 1:
            raise forms.ValidationError(_("Only one contact can be the main contact."))


class CustomerCompetitorFormSet(_CachedChoicesFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if self._should_delete_form(form) or not form.cleaned_data.get("competitor"):
                continue
            key = (form.cleaned_data["competitor"].pk, getattr(form.cleaned_data.get("product"), "pk", None))
            if key in seen:
                form.add_error("competitor", _("This competitor and product are listed twice."))
            seen.add(key)


ContactInlineFormSet = forms.inlineformset_factory(
    Customer, Contact, form=ContactForm, formset=ContactFormSet, extra=2, can_delete=True
)
CompetitorInlineFormSet = forms.inlineformset_factory(
    Customer,
    CustomerCompetitor,
    form=CustomerCompetitorForm,
    formset=CustomerCompetitorFormSet,
    extra=1,
    can_delete=True,
)


def customer_formsets(*, data, instance):
    """(contacts, competitors) formsets for `instance`. A formset whose management data
    was not posted is None: the POST leaves those rows as they are (an API-style edit of
    the profile alone); on GET both are unbound and shown."""
    contacts_prefix, competitors_prefix = "contacts", "competitors"

    def build(formset_class, prefix, **kwargs):
        if data is None:
            return formset_class(instance=instance, prefix=prefix, **kwargs)
        if f"{prefix}-TOTAL_FORMS" not in data:
            return None
        return formset_class(data, instance=instance, prefix=prefix, **kwargs)

    contacts = build(ContactInlineFormSet, contacts_prefix)
    competitors = build(
        CompetitorInlineFormSet,
        competitors_prefix,
        queryset=CustomerCompetitor.objects.select_related("competitor", "product"),
    )
    return contacts, competitors
