from django import forms
from django.template import Template, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _

from customers.forms import CustomerPicker
from customers.models import Customer
from segmentation.models import CustomerSnapshot

from .models import CLASS_CHOICES, Campaign, CampaignStep, Card, Program, Tier


class CardIssueForm(forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.filter(is_active=True), label=_("Program"))
    # only the chosen holder is drawn, the others come from the search above it (a director
    # may see 50,000 customers: the page was 2.6 MB and 3 s)
    holder = forms.ModelChoiceField(
        queryset=Customer.objects.none(),
        required=False,
        label=_("Holder"),
        help_text=_("Empty: a bearer card."),
        widget=CustomerPicker(),
    )
    expires_on = forms.DateField(required=False, label=_("Expires on"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only customers the user may see can be picked (anything else is "not a valid choice").
        self.fields["holder"].queryset = Customer.objects.visible_to(user).order_by("name")

    def clean(self):
        data = super().clean()
        program = data.get("program")
        if program and program.kind != Program.Kind.BEARER and not data.get("holder"):
            self.add_error("holder", _("A %(kind)s card needs a holder.") % {"kind": program.get_kind_display()})
        return data


class LookupForm(forms.Form):
    q = forms.CharField(
        label=_("Card number or customer"), max_length=100, widget=forms.TextInput(attrs={"autofocus": True})
    )
    amount = forms.DecimalField(
        label=_("Purchase amount"), required=False, min_value=0, max_digits=14, decimal_places=2
    )


class RedeemForm(forms.Form):
    card = forms.ModelChoiceField(queryset=Card.objects.none(), widget=forms.HiddenInput)
    points = forms.IntegerField(label=_("Points to redeem"), min_value=1)
    reason = forms.CharField(label=_("Note"), max_length=200, required=False)
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].queryset = Card.objects.visible_to(user)


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=_("Points (negative takes away)"))
    reason = forms.CharField(label=_("Reason"), max_length=200)


class FloorForm(forms.Form):
    floor_tier = forms.ModelChoiceField(
        queryset=Tier.objects.none(), required=False, label=_("Manual floor tier"), empty_label=_("No floor")
    )

    def __init__(self, *args, card, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["floor_tier"].queryset = Tier.objects.filter(program_id=card.program_id)


#
# Retention campaigns
#


class CampaignForm(forms.ModelForm):
    """The campaign's name and its saved customer filter (lifecycle status, ABC class, no
    purchase for N months). Empty choices mean any."""

    statuses = forms.MultipleChoiceField(
        choices=CustomerSnapshot.Status.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Lifecycle status"),
        help_text=_("None ticked: any status."),
    )
    classes = forms.MultipleChoiceField(
        choices=CLASS_CHOICES[1:],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("ABC class"),
        help_text=_("None ticked: any class."),
    )

    class Meta:
        model = Campaign
        fields = ["name", "statuses", "classes", "no_purchase_months"]
        labels = {"name": _("Name"), "no_purchase_months": _("No purchase for (months)")}
        help_texts = {"no_purchase_months": _("Empty: whenever they last bought.")}

    def clean_no_purchase_months(self):
        months = self.cleaned_data.get("no_purchase_months")
        if months is not None and not 1 <= months <= 120:
            raise forms.ValidationError(_("Give a number of months from 1 to 120."))
        return months


class CampaignStepForm(forms.ModelForm):
    class Meta:
        model = CampaignStep
        fields = ["delay_days", "subject", "body"]
        labels = {"delay_days": _("Days after the previous step"), "subject": _("Subject"), "body": _("Message")}
        widgets = {
            "delay_days": forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0, "max": 365}),
            "subject": forms.TextInput(attrs={"class": "form-control form-control-sm"}),
            "body": forms.Textarea(attrs={"class": "form-control form-control-sm", "rows": 3}),
        }

    def clean_delay_days(self):
        days = self.cleaned_data.get("delay_days")
        if days is not None and days > 365:
            raise forms.ValidationError(_("At most 365 days between two steps."))
        return days

    def clean_body(self):
        # The message is a Django template: a syntax error is shown here, not when it is sent.
        body = self.cleaned_data.get("body", "")
        try:
            Template(body)
        except TemplateSyntaxError as error:
            raise forms.ValidationError(
                _("The message is not a valid template: %(error)s") % {"error": error}
            ) from error
        return body


class BaseStepFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form
            for form in self.forms
            if (form.has_changed() or form.instance.pk) and form.cleaned_data and not self._should_delete_form(form)
        ]
        if not kept and not any(form.errors for form in self.forms):
            raise forms.ValidationError(_("Give at least one message step."))


CampaignStepFormSet = forms.inlineformset_factory(
    Campaign, CampaignStep, form=CampaignStepForm, formset=BaseStepFormSet, extra=1, can_delete=True
)


def step_rows(formset) -> list[dict]:
    """The steps a valid formset asks for, in page order (the service numbers them)."""
    return [
        {key: form.cleaned_data[key] for key in ("delay_days", "subject", "body")}
        for form in formset.forms
        if form.has_changed() or form.instance.pk
        if form.cleaned_data and not formset._should_delete_form(form)
    ]
