from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.forms import CustomerPicker, product_field
from customers.models import Contact, Customer
from sales_pipeline.documents import MAX_UPLOAD_BYTES
from sales_pipeline.models import Deal

from .models import CauseCategory, Complaint, Severity, Step, Survey


def _attachment_help() -> str:
    # Formatted when shown, in the reader's language (a lazy string % values at import
    # time would be fixed in the language active then).
    return gettext("PDF, office document or image, up to %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // 1024**2}


class ComplaintForm(forms.Form):
    """Registration: the few fields a manager fills in while the customer is on the phone."""

    # Only the chosen customer is drawn, the others come from the search above it (a
    # director may see 50,000: the page was 2.9 MB and 5 s); the products are read as values.
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none(), widget=CustomerPicker())
    contact = forms.ModelChoiceField(label=_("Contact"), queryset=Contact.objects.none(), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=Complaint.Channel.choices[:5])
    product = product_field(label=_("Product"), required=False)
    deal = forms.ModelChoiceField(label=_("Deal"), queryset=Deal.objects.none(), required=False)
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM)
    description = forms.CharField(label=_("What happened"), widget=forms.Textarea(attrs={"rows": 4}))
    attachment = forms.FileField(
        label=_("Attachment"), required=False,
        help_text=lazy(_attachment_help, str)(),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        customers = Customer.objects.visible_to(user)
        self.fields["customer"].queryset = customers
        customer_id = self.data.get("customer") or self.initial.get("customer")
        # Only the chosen customer's contacts and deals: short lists, and nothing of others.
        if customer_id and str(customer_id).isdigit():
            self.fields["contact"].queryset = Contact.objects.filter(customer_id=customer_id, customer__in=customers)
            self.fields["deal"].queryset = Deal.objects.visible_to(user).filter(customer_id=customer_id)
        else:
            self.fields["contact"].widget = forms.HiddenInput()
            self.fields["deal"].widget = forms.HiddenInput()
        # The cursor starts where typing begins: the customer, or (from the card) the description.
        self.fields["description" if customer_id else "customer"].widget.attrs["autofocus"] = "autofocus"


class AdvanceForm(forms.Form):
    """The next step's fields; the workflow decides which are required."""

    cause = forms.CharField(label=_("Cause found"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    cause_category = forms.ModelChoiceField(label=_("Cause category"),
                                            queryset=CauseCategory.objects.filter(is_active=True), required=False)
    action = forms.CharField(label=_("What was done to eliminate the cause"),
                             widget=forms.Textarea(attrs={"rows": 3}), required=False)
    process_change = forms.CharField(label=_("What in the process changed"),
                                     widget=forms.Textarea(attrs={"rows": 3}), required=False)
    efficacy_check_date = forms.DateField(label=_("Check that the fix worked on"), required=False,
                                          widget=forms.DateInput(attrs={"type": "date"}))
    efficacy_result = forms.CharField(label=_("What the efficacy check found"),
                                      widget=forms.Textarea(attrs={"rows": 3}), required=False)
    efficacy_ok = forms.BooleanField(label=_("The fix worked"), required=False)
    text = forms.CharField(label=_("Note for the timeline"), required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    # which fields each target step shows
    FIELDS = {
        Step.INVESTIGATING: [],
        Step.CAUSE_ELIMINATED: ["cause", "cause_category", "action"],
        Step.PROCESS_FIXED: ["process_change", "efficacy_check_date"],
        Step.CLOSED: ["efficacy_result", "efficacy_ok"],
    }

    def __init__(self, *args, target: str, complaint: Complaint, **kwargs):
        initial = {name: getattr(complaint, name) for name in self.FIELDS.get(target, [])}
        super().__init__(*args, initial=initial, **kwargs)
        keep = {*self.FIELDS.get(target, []), "text"}
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]

    def changes(self) -> dict:
        return {name: value for name, value in self.cleaned_data.items() if name != "text"}


class ReopenForm(forms.Form):
    text = forms.CharField(label=_("Why reopen"), widget=forms.Textarea(attrs={"rows": 2}))


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("File"))
    title = forms.CharField(label=_("Title"), required=False, max_length=200)


class SurveyStartForm(forms.Form):
    # as ComplaintForm: the chosen customer only (the others from the search), products as values
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none(), widget=CustomerPicker())
    product = product_field(label=_("Product"))
    channel = forms.ChoiceField(label=_("How"), choices=[(Survey.Channel.CALL, _("I ask now, during a call")),
                                                         (Survey.Channel.EMAIL, _("E-mail the link"))],
                                widget=forms.RadioSelect, initial=Survey.Channel.CALL)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = Customer.objects.visible_to(user)


SCORE_CHOICES = [(str(score), str(score)) for score in range(1, 6)]


class AnswersForm(forms.Form):
    """One 1..5 score (and an optional comment) per question of the survey."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[f"q{question.pk}"] = forms.TypedChoiceField(
                label=question.text, choices=SCORE_CHOICES, coerce=int, widget=forms.RadioSelect,
                error_messages={"required": _("Give a score from 1 to 5.")},
            )
            self.fields[f"c{question.pk}"] = forms.CharField(
                label=_("Comment (optional)"), required=False, max_length=500
            )
        self.fields["comment"] = forms.CharField(label=_("Anything else?"), required=False,
                                                 widget=forms.Textarea(attrs={"rows": 3}))

    def rows(self):
        return [(question, self[f"q{question.pk}"], self[f"c{question.pk}"]) for question in self.questions]

    def answers(self) -> dict[int, tuple[int, str]]:
        return {
            question.pk: (self.cleaned_data[f"q{question.pk}"], self.cleaned_data[f"c{question.pk}"])
            for question in self.questions
        }
