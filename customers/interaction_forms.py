"""Forms of the agenda: the quick entry of an interaction (with the next contact),
moving a planned contact, handing over an agenda, and the 'greeted' button.

Forms check the shape of the input; rules across rows live in customers.services.agenda."""

from datetime import timedelta

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_project.dates import business_today

from .access import DIRECTOR, hand_over_targets, sees_everything, user_role
from .forms import product_field
from .models import Interaction, PlannedContact
from .services.agenda import HAND_OVER_OUTSIDE_TEAM


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, and is-invalid on those with errors (whoever
    adds them: the field, clean() or a service's ValidationError), so templates only
    loop over fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not isinstance(field.widget, forms.HiddenInput):
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs["class"] = f"{css} {css}-sm"

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and "is-invalid" not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class FetchedChoiceIterator(forms.models.ModelChoiceIterator):
    """ModelChoiceIterator's choices from the rows fetched at once: its .iterator() opens a
    server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips for a few
    colleagues on every agenda, issue 15). The field's queryset is read when used, not when
    the widget gets its choices: drawing fetched rows needs none."""

    def __init__(self, field):
        self.field = field

    @property
    def queryset(self):
        return self.field.queryset

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        fetched = getattr(self.field, "fetched", None)  # the choices already read, if the caller has them
        for obj in self.queryset if fetched is None else fetched:
            yield self.choice(obj)


class ManagerChoiceField(forms.ModelChoiceField):
    """A colleague; its queryset may be given as a function (queryset_later), built the
    first time something reads it: the agenda draws its choices from rows already read
    (`fetched`), and building the queryset through the ORM cost 1.3 ms a page (issue 15)."""

    iterator = FetchedChoiceIterator

    def queryset_later(self, build) -> None:
        self._queryset, self._build_queryset = None, build
        self.widget.choices = self.choices  # this field's (a deep-copied widget's are its original's)

    def _get_queryset(self):
        build = self.__dict__.pop("_build_queryset", None)
        if build is not None:
            self._queryset = build().all()  # the widget's choices read it through the field
        return self._queryset

    def _set_queryset(self, queryset):
        self.__dict__.pop("_build_queryset", None)
        super()._set_queryset(queryset)

    queryset = property(_get_queryset, _set_queryset)

    def label_from_instance(self, user):
        return user.get_full_name() or user.username


class InteractionForm(StyledForm):
    """What happened, and optionally the next contact it plans and the planned contact
    it completes. `key` makes the ids unique when several forms share a page."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=Interaction.Kind.choices, initial=Interaction.Kind.CALL
    )
    contact = forms.ModelChoiceField(queryset=None, required=False, label=gettext_lazy("With"))
    summary = forms.CharField(label=gettext_lazy("Summary"), widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=Interaction.Outcome.choices, required=False)
    occurred_at = forms.DateTimeField(
        required=False, label=gettext_lazy("When"), widget=DateTimeInput(), help_text=gettext_lazy("Empty: now.")
    )
    next_date = forms.DateField(required=False, label=gettext_lazy("Next contact on"), widget=DateInput())
    next_purpose = forms.CharField(required=False, max_length=200, label=gettext_lazy("Purpose"))
    # read as values, not instances: the card's "log a call" and its answer drew 2,000
    # products each time (10 % of a server's time under the load test's mix, py-spy)
    next_product = product_field(required=False, label=gettext_lazy("Product to offer"))
    completes = forms.ModelChoiceField(queryset=None, required=False, label=gettext_lazy("Completes planned contact"))

    NEXT_FIELDS = ("next_date", "next_purpose", "next_product")

    def __init__(self, *args, customer, user, key: str = "card", **kwargs):
        super().__init__(*args, auto_id=f"id_{key}_%s", **kwargs)
        self.customer = customer
        self.fields["contact"].queryset = customer.contacts.all()
        # A manager completes only their own planned contacts; superiors any of the customer's.
        open_contacts = customer.planned_contacts.filter(status=PlannedContact.Status.PLANNED)
        if not (sees_everything(user) or user_role(user) == DIRECTOR):
            open_contacts = open_contacts.filter(manager=user)
        self.fields["completes"].queryset = open_contacts.order_by("due_date", "pk")
        self.fields["completes"].label_from_instance = lambda pc: (
            f"{formats.date_format(pc.due_date, 'd M')}: {pc.purpose}"
        )

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at and occurred_at > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("Log an interaction once it has happened."))
        return occurred_at

    def clean_next_date(self):
        next_date = self.cleaned_data["next_date"]
        if next_date and next_date < business_today():
            raise forms.ValidationError(_("Pick today or a later day."))
        return next_date

    def clean(self):
        data = super().clean()
        has_date = bool(data.get("next_date"))
        if has_date and not (data.get("next_purpose") or "").strip() and "next_purpose" not in self.errors:
            self.add_error("next_purpose", _("Say what the next contact is for."))
        if not has_date and "next_date" not in self.errors and (data.get("next_purpose") or data.get("next_product")):
            self.add_error("next_date", _("Pick the day of the next contact."))
        return data

    def main_fields(self):
        return [self[name] for name in self.fields if name not in self.NEXT_FIELDS and name != "completes"]

    def next_fields(self):
        return [self[name] for name in self.NEXT_FIELDS]


class MoveForm(StyledForm):
    to_date = forms.DateField(label=gettext_lazy("Move to"), widget=DateInput())

    def __init__(self, *args, key: str = "", **kwargs):
        super().__init__(*args, auto_id=f"id_move{key}_%s", **kwargs)

    def clean_to_date(self):
        to_date = self.cleaned_data["to_date"]
        if to_date < business_today():
            raise forms.ValidationError(_("Pick today or a later day."))
        return to_date


class HandOverForm(StyledForm):
    """Hand `from_user`'s open planned contacts to a colleague: all, or those due in a
    date range (both ends included, either may be left open)."""

    to_user = ManagerChoiceField(
        queryset=None,
        label=gettext_lazy("To"),
        empty_label=gettext_lazy("Choose a colleague"),
        # the choices are the owner's team: anyone else is refused with the rule, not "invalid"
        error_messages={"invalid_choice": HAND_OVER_OUTSIDE_TEAM},
    )
    start = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=DateInput(), help_text=gettext_lazy("Empty: from the start.")
    )
    end = forms.DateField(
        required=False, label=gettext_lazy("Until"), widget=DateInput(), help_text=gettext_lazy("Empty: to the end.")
    )

    def __init__(self, *args, from_user, actor, targets=None, **kwargs):
        """`targets`: the colleagues of hand_over_targets already read (users with pk and
        names), drawn as the choices instead of reading them again; a bound form still
        checks its choice against the queryset."""
        super().__init__(*args, auto_id="id_handover_%s", **kwargs)
        field = self.fields["to_user"]
        field.queryset_later(lambda: hand_over_targets(from_user=from_user, actor=actor))
        field.fetched = targets

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The range ends before it starts."))
        return data


class GreetingForm(forms.Form):
    """The hidden fields of a 'greeted' button."""

    customer = forms.IntegerField(min_value=1)
    contact = forms.IntegerField(min_value=1, required=False)
    occasion = forms.CharField(max_length=100)
    occasion_date = forms.DateField()
