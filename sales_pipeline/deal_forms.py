"""Forms of the deal pages. They check the shape of the input; the pipeline's rules are
checked by sales_pipeline.services.deals, whose errors the views put back on these forms."""

from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm_project.dates import business_today
from crm_project.filters import ValuesModelChoiceField, prepared_options
from customers.access import assignable_managers, manager_choices, scope_key
from customers.forms import CustomerPicker, product_field
from customers.models import Customer, Product, ProductLine, SalesTeam

from .deal_rules import STAGE_FIELDS, retry_date_proposal
from .documents import MAX_UPLOAD_BYTES, check_upload
from .models import Deal, DealDocument, DealLine, DocumentTemplate, RefusalReason, Stage

DATE = {"type": "date"}
SURVEY_AFTER_DAYS = 14  # the closing form proposes the survey two weeks after the act
NEXT_CONTACT_AFTER_DAYS = 60  # and the next contact two months on


def _date_widget():
    return forms.DateInput(attrs=DATE, format="%Y-%m-%d")


#
# Creating and editing
#


class DealCreateForm(forms.ModelForm):
    class Meta:
        model = Deal
        fields = ["customer", "title", "manager", "sale_type", "source", "expected_close"]
        widgets = {"customer": CustomerPicker(), "expected_close": _date_widget()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user)
        self.fields["customer"].help_text = _("Type to search your customers.")
        managers = assignable_managers(user)
        if managers.exists():
            self.fields["manager"].queryset = managers
            self.fields["manager"].required = False
            self.fields["manager"].help_text = _("Empty: the customer's manager.")
        else:
            del self.fields["manager"]
        self.fields["source"].help_text = _("Where the deal came from: a referral, the website, an exhibition...")

    def clean(self):
        data = super().clean()
        customer = data.get("customer")
        if "manager" in self.fields and customer is not None and customer.manager_id is None:
            if not data.get("manager") and "manager" not in self.errors:
                # the deal gives the pool customer to its manager (pipeline.deal_create): say whom
                message = _("This customer is in the pool: choose the manager it goes to with the deal.")
                self.add_error("manager", message)
        return data


class DealForm(forms.ModelForm):
    """The deal's general fields and the data of every stage reached so far."""

    class Meta:
        model = Deal
        fields = [
            "title",
            "manager",
            "sale_type",
            "source",
            "expected_close",
            *(name for names in STAGE_FIELDS.values() for name in names),
        ]
        widgets = {
            name: _date_widget()
            for name in (
                "expected_close",
                "minutes_sent",
                "offer_sent",
                "offer_expires",
                "contract_signed",
                "invoice_date",
                "invoice_expires",
                "event_date",
                "act_signed",
                "survey_date",
                "survey_sent",
                "next_contact",
            )
        } | {"preparation_agreed": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        managers = assignable_managers(user)
        if managers.exists():
            self.fields["manager"].queryset = managers
        else:
            del self.fields["manager"]
        for stage, names in STAGE_FIELDS.items():
            if stage > self.instance.stage:
                for name in names:
                    del self.fields[name]
        if "closing_grade" in self.fields:
            self.fields["closing_grade"].widget.attrs.update(min=1, max=5)

    def sections(self):
        """(title, [bound fields]) for the template: general first, then each stage."""
        general = [
            self[name] for name in ("title", "manager", "sale_type", "source", "expected_close") if name in self.fields
        ]
        result = [(gettext("Deal"), general)]
        for stage, names in STAGE_FIELDS.items():
            present = [self[name] for name in names if name in self.fields]
            if present:
                result.append((Stage(stage).label, present))
        return result


class StageDataForm(forms.Form):
    """One stage's fields, on the deal page's stage panel (ids prefixed "id_stage_")."""

    def __init__(self, *args, deal: Deal, **kwargs):
        kwargs.setdefault("auto_id", "id_stage_%s")
        super().__init__(*args, **kwargs)
        self.stage = deal.stage
        for name in STAGE_FIELDS[deal.stage]:
            self.fields[name] = Deal._meta.get_field(name).formfield()
            if isinstance(self.fields[name], forms.DateField):
                self.fields[name].widget = _date_widget()
            self.initial.setdefault(name, getattr(deal, name))
        if "preparation_agreed" in self.fields:
            self.fields["preparation_agreed"].widget = forms.Textarea(attrs={"rows": 3})
        if "closing_grade" in self.fields:
            self.fields["closing_grade"].widget.attrs.update(min=1, max=5)
        if deal.stage == Stage.CLOSING:
            today = business_today()
            proposals = {
                "act_signed": today,
                "survey_date": today + timedelta(days=SURVEY_AFTER_DAYS),
                "next_contact": today + timedelta(days=NEXT_CONTACT_AFTER_DAYS),
            }
            for name, value in proposals.items():
                if not self.initial.get(name):
                    self.initial[name] = value

    def changes(self) -> dict:
        # CharFields clean empty to "", the model's blank value; dates to None.
        return dict(self.cleaned_data)


class DealLineForm(forms.ModelForm):
    # the options read as values, not 2,000 products built per line drawn; the chosen one
    # is checked against the active products, its line with it
    product = product_field(
        queryset=lambda: Product.objects.filter(is_active=True).select_related("line"), label=_("Product")
    )

    class Meta:
        model = DealLine
        fields = ["product", "quantity", "price", "discount"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("quantity", "price", "discount"):
            self.fields[name].widget.attrs["step"] = "any"
        self.fields["discount"].widget.attrs.update(min=0, max=100)
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else "form-control form-control-sm"
            )
            field.widget.attrs.setdefault("class", css)

    def clean_discount(self):
        discount = self.cleaned_data["discount"]
        if discount is not None and not 0 <= discount <= 100:
            raise forms.ValidationError(gettext("A discount is 0 to 100 %."))
        return discount


DealLineFormSet = forms.inlineformset_factory(Deal, DealLine, form=DealLineForm, extra=2, can_delete=True)


def line_rows(formset) -> list[dict]:
    """The lines a valid formset asks for, as deal_services.deal_lines_set takes them."""
    rows = []
    for form in formset.forms:
        if not form.has_changed() and form.instance.pk is None:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        data = {name: form.cleaned_data.get(name) for name in ("product", "quantity", "price", "discount")}
        if data["product"] is None:
            continue
        rows.append({"pk": form.instance.pk, **data})
    return rows


#
# Moving, losing, closing, paying
#


class MoveForm(forms.Form):
    to_stage = forms.TypedChoiceField(choices=Stage.choices, coerce=int, label=_("Stage"))


class LoseForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=RefusalReason.objects.none(), empty_label=_("Pick the reason"), label=_("Reason")
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("Comment"))
    retry_date = forms.DateField(
        required=False,
        widget=_date_widget(),
        label=_("Retry date"),
        help_text=_("When to present again (proposed: in three months)."),
    )

    def __init__(self, *args, deal: Deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = RefusalReason.objects.filter(stage=deal.stage, is_active=True)
        self.fields["reason"].label = gettext("Reason (%(stage)s stage)") % {"stage": Stage(deal.stage).label}
        if deal.stage == Stage.PRESENTATION:
            self.initial.setdefault("retry_date", retry_date_proposal(business_today()))
        else:
            del self.fields["retry_date"]


class CloseForm(forms.Form):
    closing_grade = forms.IntegerField(
        required=False, min_value=1, max_value=5, label=_("The customer's grade (1..5)"), widget=forms.NumberInput()
    )


class PaymentForm(forms.Form):
    PAYMENT, REFUND = "payment", "refund"
    kind = forms.ChoiceField(
        choices=[(PAYMENT, _("Payment received")), (REFUND, _("Refund paid back"))], initial=PAYMENT, label=_("Kind")
    )
    date = forms.DateField(widget=_date_widget(), label=_("Date"))
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=0.01, label=_("Amount"))
    note = forms.CharField(max_length=200, required=False, label=_("Note"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("date", business_today())

    def signed_amount(self):
        amount = self.cleaned_data["amount"]
        return -amount if self.cleaned_data["kind"] == self.REFUND else amount


class ContractChangeForm(forms.Form):
    date = forms.DateField(widget=_date_widget(), label=_("Date"))
    note = forms.CharField(max_length=300, label=_("What changed"))


#
# Documents
#


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(choices=DocumentTemplate.Kind.choices, label=_("Kind"))


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))
    kind = forms.ChoiceField(choices=DealDocument._meta.get_field("kind").choices, initial="other", label=_("Kind"))
    title = forms.CharField(max_length=200, required=False, label=_("Title"))
    sent_date = forms.DateField(required=False, widget=_date_widget(), label=_("Sent to the customer on"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = gettext("PDF, office document or image, up to %(size)s MB.") % {
            "size": MAX_UPLOAD_BYTES // 1024**2
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        check_upload(upload)
        return upload


class SentForm(forms.Form):
    sent_date = forms.DateField(widget=_date_widget(), label=_("Sent on"))


#
# Board and funnel filters
#


# The manager options compiled once per user's scope (crm_project.prepared), as the deal
# list's filter reads them: the same rows as manager_choices(user).
_MANAGER_OPTIONS = prepared_options(
    lambda user, key: manager_choices(user), ("username",), shape=lambda user: (user, scope_key(user))
)


class BoardFilterForm(forms.Form):
    manager = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(), required=False, empty_label=_("Any manager"), label=_("Manager")
    )
    sale_type = forms.ChoiceField(
        choices=[("", _("Any sale type")), *Deal.SaleType.choices], required=False, label=_("Sale type")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The options read as values through a compiled statement; the queryset is built
        # only to check a chosen manager. str() of a user is its username.
        self.fields["manager"] = ValuesModelChoiceField(
            lambda: manager_choices(user),
            label_fields=("username",),
            label_from_values=str,
            rows=lambda: _MANAGER_OPTIONS(user),
            rows_key=_MANAGER_OPTIONS,
            required=False,
            empty_label=self.fields["manager"].empty_label,
            label=self.fields["manager"].label,
        )
        for name in ("manager", "sale_type"):
            self.fields[name].widget.attrs.update(
                {"class": "form-select form-select-sm w-auto", "aria-label": self.fields[name].label}
            )


class FunnelForm(BoardFilterForm):
    start = forms.DateField(widget=_date_widget(), label=_("Start"))
    end = forms.DateField(widget=_date_widget(), label=_("End"))
    team = forms.ModelChoiceField(
        queryset=SalesTeam.objects.all(), required=False, empty_label=_("Any team"), label=_("Team")
    )
    product_line = forms.ModelChoiceField(
        queryset=ProductLine.objects.all(), required=False, empty_label=_("Any product line"), label=_("Product line")
    )

    field_order = ["start", "end", "manager", "team", "product_line", "sale_type"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("manager", "sale_type"):  # full width in the filter column
            self.fields[name].widget.attrs["class"] = "form-select"

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", gettext("The period ends before it starts."))
        return cleaned
