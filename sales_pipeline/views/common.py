"""What every deal page shares: the permissions, the user's deals (another manager's deal
is a 404 on every URL), and the POST-action recipe: check a form, call one service,
redirect with its message."""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect

from ..models import Deal

VIEW, ADD, CHANGE = "sales_pipeline.view_deal", "sales_pipeline.add_deal", "sales_pipeline.change_deal"
PAY, DOCUMENT = "sales_pipeline.add_payment", "sales_pipeline.add_dealdocument"
OPEN = Deal.Status.OPEN


def visible_deals(request):
    return Deal.objects.visible_to(request.user)


def deal_or_404(request, pk) -> Deal:
    """The deal `pk` if the user may see it, else 404."""
    return get_object_or_404(visible_deals(request).select_related("customer", "manager", "lost_reason"), pk=pk)


def error_text(error: ValidationError) -> str:
    return " ".join(error.messages)


def form_error_text(form) -> str:
    """Every error of the form, each after its field's label."""
    return "; ".join(f"{_label(form, name)}: {' '.join(errors)}" for name, errors in form.errors.items())


def form_errors_only(form) -> str:
    return "; ".join(" ".join(errors) for errors in form.errors.values())


def _label(form, name: str) -> str:
    field = form.fields.get(name)
    return (field.label if field is not None else None) or name


def put_errors(form, error: ValidationError) -> None:
    """A service's ValidationError onto the form: field errors where the form has the field."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def post_action(
    request,
    form,
    *,
    run: Callable,
    success: Callable | str,
    back,
    invalid: str | Callable = form_error_text,
):
    """The deal page's small POST actions: a valid `form` -> `run(cleaned_data)` (one
    service call) -> a success message (`success(result)` or text); an invalid form or a
    refused service -> an error message. Then back to `back` (a deal or document's page)."""
    if not form.is_valid():
        messages.error(request, invalid(form) if callable(invalid) else invalid)
        return redirect(back)
    try:
        result = run(form.cleaned_data)
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(back)
