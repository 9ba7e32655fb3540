"""The agenda (a manager's home page), its month calendar, and the quick actions on
interactions, planned contacts, hand-overs and greetings.

Every object comes through the user's scope, so anything else is a 404. Each action
calls one service of customers.services.agenda (the pages read customers.selectors.agenda);
htmx requests get a fragment back, others a redirect with a message. Actions on an object
also answer GET with a small form page, so they work without JavaScript (and from a
bookmark).
"""

import calendar
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import formats
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from crm_project import hooks
from crm_project.dates import business_today
from crm_project.object_urls import page_url

from ..access import DIRECTOR, assignable_managers, customer_scope, sees_everything, user_role
from ..interaction_forms import GreetingForm, HandOverForm, InteractionForm, MoveForm
from ..models import Contact, Customer, PlannedContact
from ..selectors import agenda as selectors
from ..services import agenda as services

CHANGE_CONTACTS = "customers.change_plannedcontact"  # who sees the hand-over form
GREETING_DAYS = 14  # how far ahead the agenda lists birthdays and holidays
# The page stays fast however much piles up: it lists the first rows and says how many there are.
DAY_LIMIT, OVERDUE_LIMIT, GREETING_LIMIT = 50, 25, 30

#
# Helpers
#


def _agenda_owner(request, raw: str | None):
    """Whose agenda: the user's own, or (?manager=<id>) a manager a director directs or
    an administrator picks. Anyone else's id is a 404."""
    if not raw or raw == str(request.user.pk):
        return request.user
    if not raw.isdigit():
        raise Http404(_("No such manager."))
    return get_object_or_404(assignable_managers(request.user), pk=raw)


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _day(value: date) -> str:
    """A day as the messages and titles show it ("05 Dec 2026"), in the reader's language."""
    return formats.date_format(value, "d M Y")


def _agenda_url(owner, request, day: date | None = None) -> str:
    params = []
    if day is not None:
        params.append(f"day={day:%Y-%m-%d}")
    if owner.pk != request.user.pk:
        params.append(f"manager={owner.pk}")
    return page_url("customers:agenda") + (f"?{'&'.join(params)}" if params else "")  # once a page, not a day


def _next_url(request, default: str) -> str:
    """A same-site `next` from the form or the query string, else `default`."""
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _planned_contact(request, pk):
    """A planned contact the user may act on: their own, or, for a director or an
    administrator, any whose customer they see. Another manager's is a 404."""
    user = request.user
    contacts = PlannedContact.objects.select_related("customer", "manager").filter(
        customer_scope(user, prefix="customer__")
    )
    if not (sees_everything(user) or user_role(user) == DIRECTOR):
        contacts = contacts.filter(manager=user)
    return get_object_or_404(contacts, pk=pk)


def _row_response(request, contact_pk: int, **extra):
    """The agenda row of one planned contact, redrawn after an action."""
    today = business_today()
    row = selectors.planned_contact_row(contact_pk, today=today, viewer=request.user)
    context = {"row": row, "today": today, "next": _next_url(request, reverse("customers:agenda")), **extra}
    return render(request, "customers/_agenda_row.html", context)


def _form_page(request, *, title: str, action: str, form=None, submit: str, back: str, template: str = ""):
    return render(
        request,
        "customers/agenda_form.html",
        {
            "title": title,
            "action": action,
            "form": form,
            "submit": submit,
            "back": back,
            "next": _next_url(request, back),
            "form_template": template,
        },
    )


def agenda_hook_rows(*, viewer, owner, today) -> list:
    """What other apps put on the agenda (crm_project.hooks.AGENDA_ROWS), oldest first."""
    rows = [row for hook in hooks.get_hooks(hooks.AGENDA_ROWS) for row in hook(viewer=viewer, owner=owner, today=today)]
    return sorted(rows, key=lambda row: (row.date, row.kind))


#
# Pages
#


@login_required
@permission_required("customers.view_plannedcontact", raise_exception=True)
def agenda(request):
    """GET /customers/agenda/?day=YYYY-MM-DD[&manager=<id>]: the day's contacts with
    each customer's dossier, the overdue ones, birthdays and holidays to greet, and the
    hand-over form. A fixed number of queries whatever the data size."""
    owner = _agenda_owner(request, request.GET.get("manager"))
    viewer = request.user
    today = business_today()
    day = _parse_day(request.GET.get("day")) or today
    # The counts first (an index range): a list with nothing in it is not asked for.
    counts = selectors.agenda_counts(owner, day, today, viewer=viewer)
    day_rows, overdue = selectors.agenda_page_rows(
        owner, day, today, viewer=viewer, day_limit=DAY_LIMIT, overdue_limit=OVERDUE_LIMIT, counts=counts
    )
    rows = selectors.agenda_dossier([*day_rows, *overdue], today=today, viewer=viewer)
    holidays = selectors.upcoming_holidays(today, GREETING_DAYS)
    birthdays = selectors.upcoming_birthdays(owner, today, GREETING_DAYS, viewer=viewer)
    is_own = owner.pk == request.user.pk
    context = {
        "owner": owner,
        "is_own": is_own,
        "owner_param": "" if is_own else f"&manager={owner.pk}",
        "day": day,
        "today": today,
        "prev_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "rows": [row for row in rows if row.due_date == day],
        "overdue": [row for row in rows if row.due_date != day],
        "counts": counts,
        "birthdays": birthdays[:GREETING_LIMIT],
        "more_birthdays": max(len(birthdays) - GREETING_LIMIT, 0),
        "holidays": selectors.holiday_greetings(owner, holidays, viewer=viewer, limit=GREETING_LIMIT),
        "managers": assignable_managers(request.user),
        "hand_over_form": HandOverForm(
            from_user=owner,
            actor=request.user,
            # read here (compiled once) only where the page draws the form
            targets=selectors.hand_over_target_users(owner) if viewer.has_perm(CHANGE_CONTACTS) else None,
        ),
        "hand_overs": selectors.hand_over_status(owner),
        "next": request.get_full_path(),
        "hook_rows": agenda_hook_rows(viewer=viewer, owner=owner, today=today),
    }
    return render(request, "customers/agenda.html", context)


@login_required
@permission_required("customers.view_plannedcontact", raise_exception=True)
def agenda_month(request):
    """GET /customers/agenda/month/?month=YYYY-MM[&manager=<id>]: a calendar of the
    month with the number of open contacts per day, each day linking to its agenda."""
    owner = _agenda_owner(request, request.GET.get("manager"))
    today = business_today()
    first = _parse_day(f"{request.GET.get('month', '')}-01") or today.replace(day=1)
    counts = selectors.agenda_month(owner, first.year, first.month, viewer=request.user)
    weeks = [
        [
            {
                "date": day,
                "count": counts.get(day, 0),
                "in_month": day.month == first.month,
                "url": _agenda_url(owner, request, day),
            }
            for day in week
        ]
        for week in calendar.Calendar().monthdatescalendar(first.year, first.month)
    ]
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    is_own = owner.pk == request.user.pk
    context = {
        "owner": owner,
        "is_own": is_own,
        "owner_param": "" if is_own else f"&manager={owner.pk}",
        "first": first,
        "today": today,
        "weeks": weeks,
        "total": sum(counts.values()),
        "prev_month": first - timedelta(days=1),
        "next_month": last + timedelta(days=1),
        "weekdays": [WEEKDAYS_ABBR[i] for i in range(7)],
    }
    return render(request, "customers/agenda_month.html", context)


#
# Interactions
#


@login_required
@permission_required("customers.add_interaction", raise_exception=True)
@require_http_methods(["GET", "POST"])
def interaction_create(request, pk):
    """The quick entry: GET gives the form (a fragment for htmx), POST logs the
    interaction. From the card (where=card) the answer prepends it to the timeline and
    refreshes the planned contacts; from an agenda row (where=agenda&row=<id>) it
    redraws that row."""
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    params = request.POST if request.method == "POST" else request.GET
    row = None
    if params.get("where") == "agenda" and (params.get("row") or "").isdigit():
        row = _planned_contact(request, int(params["row"]))
        if row.customer_id != customer.pk:
            raise Http404(_("That planned contact is for another customer."))
    where = "agenda" if row is not None else "card"
    key = f"row{row.pk}" if row is not None else "card"
    form = InteractionForm(
        request.POST if request.method == "POST" else None,
        customer=customer,
        user=request.user,
        key=key,
        initial={"completes": params.get("completes") or (row.pk if row is not None else None)},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            interaction = services.interaction_log(
                customer=customer,
                manager=request.user,
                kind=data["kind"],
                summary=data["summary"],
                outcome=data["outcome"],
                occurred_at=data["occurred_at"],
                contact=data["contact"],
                next_date=data["next_date"],
                next_purpose=data["next_purpose"],
                next_product=data["next_product"],
                completes=data["completes"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _interaction_logged(request, customer, interaction, row)
    context = {"form": form, "customer": customer, "where": where, "row": row, "form_key": key}
    if where == "card":
        form.fields["kind"].widget.attrs["accesskey"] = "l"
    elif request.method == "GET":
        form.fields["kind"].widget.attrs["autofocus"] = True  # opened from a row's Log button: type at once
    if request.htmx:
        return render(request, "customers/_interaction_form.html", context)
    back = customer.get_absolute_url()
    return render(
        request,
        "customers/agenda_form.html",
        {
            **context,
            "title": _("Log an interaction with %(customer)s") % {"customer": customer.name},
            "back": back,
            "next": _next_url(request, back),
            "form_template": "customers/_interaction_form.html",
        },
    )


def _interaction_logged(request, customer, interaction, row):
    next_contact = interaction.planned_next.first()
    if not request.htmx:
        text = _("Logged the %(kind)s with %(customer)s.") % {
            "kind": interaction.get_kind_display().lower(),
            "customer": customer.name,
        }
        if next_contact:
            text += " " + _("Next contact on %(day)s.") % {"day": _day(next_contact.due_date)}
        messages.success(request, text)
        return redirect(_next_url(request, customer.get_absolute_url()))
    if row is not None:
        response = _row_response(request, row.pk, logged=interaction, next_contact=next_contact)
        return reswap(retarget(response, f"#contact-{row.pk}"), "outerHTML")
    form = InteractionForm(customer=customer, user=request.user, key="card")
    form.fields["kind"].widget.attrs.update(accesskey="l", autofocus=True)
    context = {
        "form": form,
        "customer": customer,
        "where": "card",
        "form_key": "card",
        "interaction": interaction,
        "first_interaction": not customer.interactions.exclude(pk=interaction.pk).exists(),
        "planned_contacts": customer.planned_contacts.filter(status=PlannedContact.Status.PLANNED).select_related(
            "manager", "product"
        ),
        "saved": (
            _("Logged. Next contact on %(day)s.") % {"day": _day(next_contact.due_date)}
            if next_contact
            else _("Logged.")
        ),
    }
    return render(request, "customers/_agenda_logged.html", context)


#
# Planned contacts
#


@login_required
@permission_required("customers.change_plannedcontact", raise_exception=True)
@require_http_methods(["GET", "POST"])
def planned_contact_move(request, pk):
    """Move a planned contact to another day: the agenda row's date input and button."""
    contact = _planned_contact(request, pk)
    form = MoveForm(request.POST or None, key=str(contact.pk), initial={"to_date": contact.due_date})
    if request.method == "POST" and form.is_valid():
        try:
            moved = services.planned_contact_move(
                contact=contact, to_date=form.cleaned_data["to_date"], actor=request.user
            )
        except ValidationError as error:
            form.add_error("to_date", error)
        else:
            if request.htmx:
                return _row_response(request, moved.pk, moved_to=moved.due_date)
            messages.success(
                request,
                _("Moved %(customer)s to %(day)s.") % {"customer": contact.customer.name, "day": _day(moved.due_date)},
            )
            return redirect(_next_url(request, _agenda_url(contact.manager, request, contact.due_date)))
    if request.htmx:
        return _row_response(request, contact.pk, move_form=form)
    return _form_page(
        request,
        title=_("Move the contact with %(customer)s (%(purpose)s)")
        % {"customer": contact.customer.name, "purpose": contact.purpose},
        action=reverse("customers:planned_contact_move", args=[contact.pk]),
        form=form,
        submit=_("Move"),
        back=_agenda_url(contact.manager, request, contact.due_date),
    )


@login_required
@permission_required("customers.change_plannedcontact", raise_exception=True)
@require_http_methods(["GET", "POST"])
def planned_contact_cancel(request, pk):
    """Take a planned contact off the agenda (GET asks to confirm)."""
    contact = _planned_contact(request, pk)
    error = ""
    if request.method == "POST":
        try:
            services.planned_contact_cancel(contact=contact, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if request.htmx:
                return _row_response(request, contact.pk)
            messages.success(
                request, _("Cancelled the contact with %(customer)s.") % {"customer": contact.customer.name}
            )
            return redirect(_next_url(request, _agenda_url(contact.manager, request, contact.due_date)))
    if error and not request.htmx:
        messages.error(request, error)
    if request.htmx:
        return _row_response(request, contact.pk, error=error)
    return _form_page(
        request,
        title=_("Cancel the contact with %(customer)s on %(day)s (%(purpose)s)?")
        % {"customer": contact.customer.name, "day": _day(contact.due_date), "purpose": contact.purpose},
        action=reverse("customers:planned_contact_cancel", args=[contact.pk]),
        submit=_("Cancel the contact"),
        back=_agenda_url(contact.manager, request, contact.due_date),
    )


@login_required
@permission_required("customers.change_plannedcontact", raise_exception=True)
@require_http_methods(["GET", "POST"])
def agenda_hand_over(request):
    """Hand the agenda (all, or a date range) to a colleague while away. A director
    hands over a manager of their team's (manager=<id>)."""
    owner = _agenda_owner(request, request.POST.get("manager") or request.GET.get("manager"))
    form = HandOverForm(request.POST or None, from_user=owner, actor=request.user)
    back = _agenda_url(owner, request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            count = services.agenda_hand_over(
                from_user=owner, to_user=data["to_user"], actor=request.user, start=data["start"], end=data["end"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            name = data["to_user"].get_full_name() or data["to_user"].username
            text = ngettext(
                "Handed %(count)d planned contact to %(name)s.", "Handed %(count)d planned contacts to %(name)s.", count
            )
            messages.success(request, text % {"count": count, "name": name})
            if request.htmx:
                return HttpResponseClientRedirect(back)
            return redirect(back)
    if request.htmx:
        return render(
            request,
            "customers/_agenda_hand_over.html",
            {"hand_over_form": form, "owner": owner, "is_own": owner.pk == request.user.pk},
        )
    return render(
        request,
        "customers/agenda_form.html",
        {
            "title": _("Hand over the agenda"),
            "back": back,
            "next": back,
            "hand_over_form": form,
            "owner": owner,
            "is_own": owner.pk == request.user.pk,
            "form_template": "customers/_agenda_hand_over.html",
        },
    )


@login_required
@permission_required("customers.change_plannedcontact", raise_exception=True)
@require_POST
def agenda_hand_back(request):
    """End a hand-over seen from the agenda of `manager` (the user's own, or a team
    member's for a director): with `from_user`, return the contacts it holds from that
    colleague; without, take back its contacts from whoever holds them."""
    owner = _agenda_owner(request, request.POST.get("manager"))
    raw = request.POST.get("from_user", "")
    try:
        if raw.isdigit():
            giver = get_object_or_404(get_user_model(), pk=raw)
            count = services.agenda_hand_back(from_user=giver, holder=owner, actor=request.user)
            name = giver.get_full_name() or giver.username
            text = ngettext(
                "Returned %(count)d planned contact to %(name)s.",
                "Returned %(count)d planned contacts to %(name)s.",
                count,
            )
            messages.success(request, text % {"count": count, "name": name})
        else:
            count = services.agenda_hand_back(from_user=owner, actor=request.user)
            text = ngettext("Took back %(count)d planned contact.", "Took back %(count)d planned contacts.", count)
            messages.success(request, text % {"count": count})
    except PermissionDenied as error:
        raise Http404(_("No such hand-over.")) from error
    return redirect(_agenda_url(owner, request))


#
# Greetings
#


@login_required
@permission_required("customers.add_greeting", raise_exception=True)
@require_POST
def greeting_create(request):
    """The one-click 'greeted' button of a birthday or a holiday; a second click does
    not log a second greeting."""
    form = GreetingForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Incomplete greeting."))
    data = form.cleaned_data
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=data["customer"])
    contact = get_object_or_404(Contact, pk=data["contact"], customer=customer) if data["contact"] else None
    try:
        greeting, created = services.greeting_log(
            customer=customer,
            contact=contact,
            occasion=data["occasion"],
            occasion_date=data["occasion_date"],
            actor=request.user,
        )
    except ValidationError as error:
        return HttpResponseBadRequest(" ".join(error.messages))
    if request.htmx:
        return render(request, "customers/_agenda_greeting.html", {"greeted": True, "greeting": greeting})
    who = contact.name if contact else customer.name
    text = _("Greeted %(name)s.") if created else _("%(name)s was greeted already.")
    messages.success(request, text % {"name": who})
    return redirect(_next_url(request, reverse("customers:agenda")))


urlpatterns = [
    path("agenda/", agenda, name="agenda"),
    path("agenda/month/", agenda_month, name="agenda_month"),
    path("agenda/hand-over/", agenda_hand_over, name="agenda_hand_over"),
    path("agenda/hand-back/", agenda_hand_back, name="agenda_hand_back"),
    path("agenda/greetings/", greeting_create, name="greeting_create"),
    path("<int:pk>/interactions/new/", interaction_create, name="interaction_create"),
    path("planned/<int:pk>/move/", planned_contact_move, name="planned_contact_move"),
    path("planned/<int:pk>/cancel/", planned_contact_cancel, name="planned_contact_cancel"),
]
