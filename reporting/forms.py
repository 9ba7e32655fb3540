from datetime import date
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crm_project.dates import business_today

from .models import Plan
from .periods import PRESETS, preset


class PeriodForm(forms.Form):
    """A preset or a custom [start, end]; the end can be today at the latest."""

    preset = forms.ChoiceField(label=_("Period"), required=False, choices=[("", _("Custom")), *PRESETS.items()])
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, default: str = "last_month", **kwargs):
        super().__init__(*args, **kwargs)
        self.default = default

    def clean(self):
        """Both dates given: that period (the preset shown is the one it equals, if any);
        otherwise the preset chosen, or the page's default."""
        data = super().clean()
        today = business_today()
        key = data.get("preset")
        if not (data.get("start") and data.get("end")) and (key or not (data.get("start") or data.get("end"))):
            data["start"], data["end"] = preset(key or self.default, today)
            data["preset"] = key or self.default
            return data
        data["preset"] = next((k for k in PRESETS if preset(k, today) == (data.get("start"), data.get("end"))), "")
        if not data.get("start") or not data.get("end"):
            raise forms.ValidationError(_("Give both dates of a custom period, or choose a preset."))
        start, end = data["start"], data["end"]
        if end > today:
            self.add_error("end", _("The period can end today at the latest."))
        elif start > end:
            self.add_error("end", _("The period ends before it starts."))
        if start < date(1990, 1, 1):
            self.add_error("start", _("Too far in the past."))
        return data


class PlanForm(forms.ModelForm):
    class Meta:
        model = Plan
        fields = ["revenue", "primary", "new_direction"]
        widgets = {name: forms.NumberInput(attrs={"step": "0.01", "min": "0"}) for name in fields}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False  # an empty target is no target: 0

    def clean(self):
        data = super().clean()
        for name in self.Meta.fields:
            if data.get(name) is None:
                data[name] = Decimal(0)
            elif data[name] < 0:
                self.add_error(name, _("A target cannot be negative."))
        return data


class MonthForm(forms.Form):
    month = forms.DateField(label=_("Month"), input_formats=["%Y-%m", "%Y-%m-%d"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))  # fmt: skip
