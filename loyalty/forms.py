from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Customer

from .models import Card, Program, Tier


class CardIssueForm(forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.filter(is_active=True), label=_("Program"))
    holder = forms.ModelChoiceField(
        queryset=Customer.objects.none(), required=False, label=_("Holder"), help_text=_("Empty: a bearer card.")
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
