"""Write side of loyalty: cards, the points ledger, tiers. Keyword-only and atomic.

Every change to a card's points takes the card's row lock (SELECT ... FOR UPDATE) first and
writes its entries and the cached balance in one transaction, so two redemptions at the
same moment are serialised: the second sees the first's balance. The database's CHECK
(balance >= 0, remaining >= 0) is the backstop.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_project.dates import business_today, months_before
from crm_project.imports import in_chunks, parameter_chunk_size
from sales_pipeline.selectors import MONEY_UNIT, day_sums, lines_for_points, lines_of_the_same_sales
from segmentation.models import CustomerSnapshot

from . import allocation, luhn, tiering
from .models import Card, LineEarnRate, PointsEntry, Program, Tier, TierChange

RATE_UNIT = 10_000  # earn rates have four decimals


class Refused(ValidationError):
    """A points operation the rules do not allow (the message says why)."""


#
# Cards
#


@transaction.atomic
def card_issue(
    *, program: Program, holder=None, actor=None, issued_on: date | None = None, expires_on: date | None = None
) -> Card:
    """A new active card with the next number of its program (prefix, the card's id, Luhn
    check digit). Only bearer cards have no holder. A tiered card starts at the tier its
    holder qualifies for today (entry tier at least), recorded as its first tier change."""
    if holder is None and program.kind != Program.Kind.BEARER:
        raise ValidationError({"holder": _("Only a bearer card can be issued without a holder.")})
    if not program.is_active:
        raise ValidationError({"program": _("This program is not active.")})
    today = issued_on or business_today()
    # The number comes from the card's own id: unique without a sequence or a retry.
    card = Card.objects.create(
        number=f"new-{uuid.uuid4().hex[:16]}", program=program, holder=holder, issued_on=today, expires_on=expires_on
    )
    card.number = luhn.card_number(program.number_prefix, card.pk)
    card.save(update_fields=["number"])
    if program.kind == Program.Kind.TIERED:
        tiers_evaluate(today=today, card_ids=[card.pk], actor=actor)
        card.refresh_from_db()
    return card


@transaction.atomic
def card_status_set(*, card: Card, status: str, actor=None) -> Card:
    card = _lock([card.pk])[0]
    card.status = status
    card.full_clean()
    card.save(update_fields=["status"])
    return card


def _lock(card_ids) -> list[Card]:
    """Row locks on the cards, always in id order (two batches never deadlock)."""
    return list(Card.objects.select_for_update().filter(pk__in=card_ids).order_by("pk"))


def _lock_ids(card_ids) -> list[int]:
    """As _lock, for a batch: the ids only (20,000 model instances cost seconds)."""
    return list(Card.objects.select_for_update().filter(pk__in=card_ids).order_by("pk").values_list("pk", flat=True))


def _balances_from_ledger(card_ids) -> None:
    """Set each card's cached balance to the sum of its entries (cards locked by the caller):
    one grouped UPDATE ... FROM per chunk of cards (PostgreSQL and SQLite alike)."""
    card, entry = Card._meta.db_table, PointsEntry._meta.db_table
    with connection.cursor() as cursor:
        for chunk in in_chunks(sorted(card_ids)):
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"""UPDATE {card} SET balance = sums.total
                    FROM (SELECT card_id, SUM(points) AS total FROM {entry}
                          WHERE card_id IN ({marks}) GROUP BY card_id) AS sums
                    WHERE {card}.id = sums.card_id AND {card}.balance <> sums.total""",
                chunk,
            )


def _balances_add(deltas: dict[int, int]) -> None:
    """Add each card's points just written to its cached balance (cards locked by the
    caller, so the balance stays the sum of the entries), instead of summing every entry of
    every card again."""
    _update_from_pairs(Card._meta.db_table, "balance", f"{Card._meta.db_table}.balance + pair.value", deltas)


def _update_from_pairs(table: str, column: str, expression: str, pairs: dict[int, int]) -> None:
    """UPDATE table SET column = expression (of `pair.value`) for each (id, value) pair, in
    one statement on PostgreSQL (two arrays) and per chunk of a VALUES list on SQLite."""
    rows = sorted(pairs.items())
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""UPDATE {table} SET {column} = {expression}
                    FROM unnest(%s::bigint[], %s::bigint[]) AS pair (id, value) WHERE {table}.id = pair.id""",
                [[key for key, _v in rows], [value for _k, value in rows]],
            )
            return
        for chunk in in_chunks(rows, max(1, parameter_chunk_size() // 2)):
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"""WITH pair (id, value) AS (VALUES {values})
                    UPDATE {table} SET {column} = {expression} FROM pair WHERE {table}.id = pair.id""",
                [value for row in chunk for value in row],
            )


#
# Accrual and reversal from the settlement ledger
#


def _points_sql(amount: str, rate: str) -> str:
    # Exact integers on both databases: 1/10,000 money units x 1/10,000 points, truncated.
    money = f"CAST(ROUND({amount} * {MONEY_UNIT}) AS BIGINT)"
    per_unit = f"CAST(ROUND({rate} * {RATE_UNIT}) AS BIGINT)"
    return f"({money} * {per_unit}) / {MONEY_UNIT * RATE_UNIT}"


def _accruing_cards():
    """The card each customer's points go to: their oldest active card of an active bonus program."""
    return (
        Card.objects.filter(
            status=Card.Status.ACTIVE,
            holder__isnull=False,
            program__kind=Program.Kind.POINTS,
            program__is_active=True,
        )
        .values("holder_id")
        .annotate(card_id=Min("pk"))
        .order_by()
    )


@dataclass
class AccrualResult:
    accrued: int = 0
    reversed: int = 0


@transaction.atomic
def points_accrue(
    *, start: date | None = None, end: date | None = None, line_ids=None, customer_ids=None
) -> AccrualResult:
    """Accrue points for the settlement lines dated in [start, end] (and/or with `line_ids`)
    in one INSERT ... SELECT over the lines; a (card, line) pair that already has its entry
    is skipped by the unique constraint, so a line accrues once whoever re-runs what.
    Negative lines reverse points (reverse_lines). Called by the nightly job and, after
    each payment, for its customer and day (the signal in apps.py)."""
    lines = lines_for_points(start=start, end=end, line_ids=line_ids)
    if customer_ids is not None:
        lines = lines.filter(customer_id__in=customer_ids)
    if not lines.exists():
        return AccrualResult()
    lines_sql, lines_params = lines.query.sql_with_params()
    owners_sql, owners_params = _accruing_cards().query.sql_with_params()
    # Lock the cards the lines may credit, before the insert: the balance written below
    # is then the sum of entries no one else is changing.
    customers = lines.values("customer_id")
    locked = _lock_ids(_accruing_cards().filter(holder_id__in=customers).values("card_id"))
    if not locked:
        return AccrualResult()
    entry, card, program, rate = (
        PointsEntry._meta.db_table,
        Card._meta.db_table,
        Program._meta.db_table,
        LineEarnRate._meta.db_table,
    )
    if connection.vendor == "postgresql":
        expiry = "l.date + p.expiry_days"
    else:
        expiry = "date(l.date, '+' || p.expiry_days || ' days')"
    points = _points_sql("l.amount", "COALESCE(r.earn_rate, p.earn_rate)")
    # The owners as a materialised table: planned as a hash join whatever the statistics
    # (as a plain subquery, fresh tables once made PostgreSQL re-aggregate it per line).
    # The statement never reads the entries table it writes: lines already counted are
    # skipped by ON CONFLICT, whose check is one probe of the unique (card, line) index per
    # line. A NOT EXISTS over the entries here was planned, when their statistics said
    # "empty" (a first night, a fresh ANALYZE), as a nested loop re-reading the table this
    # very statement was filling: quadratic, 66 s to 344 s instead of 5 (bench/README.md).
    insert = f"""
        INSERT INTO {entry} (card_id, kind, points, remaining, date, expires_on, line_id, reason, created_at)
        SELECT card_id, 'accrual', points, points, date, expires_on, line_id, '', %s FROM (
            SELECT c.id AS card_id, {points} AS points, l.date AS date, {expiry} AS expires_on, l.id AS line_id
            FROM ({lines_sql}) l
            JOIN owners o ON o.holder_id = l.customer_id
            JOIN {card} c ON c.id = o.card_id
            JOIN {program} p ON p.id = c.program_id
            LEFT JOIN {rate} r ON r.program_id = p.id AND r.product_line_id = l.product_line_id
            WHERE l.amount > 0 AND l.date >= c.issued_on AND (c.expires_on IS NULL OR l.date <= c.expires_on)
        ) AS earned
        WHERE points > 0
        ON CONFLICT (card_id, line_id) DO NOTHING
        RETURNING card_id, points
    """
    params = [*owners_params, timezone.now(), *lines_params]
    deltas: dict[int, int] = defaultdict(int)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The same statement adds what it inserted to the balances: nothing comes back
            # to Python but the count.
            cursor.execute(
                f"""WITH owners AS MATERIALIZED ({owners_sql}),
                    inserted AS ({insert}),
                    sums AS (SELECT card_id, SUM(points) AS points, COUNT(*) AS n FROM inserted GROUP BY card_id),
                    credited AS (UPDATE {card} SET balance = {card}.balance + sums.points
                                 FROM sums WHERE {card}.id = sums.card_id)
                    SELECT COALESCE(SUM(n), 0) FROM sums""",
                params,
            )
            accrued = int(cursor.fetchone()[0])
        else:
            cursor.execute(f"WITH owners AS MATERIALIZED ({owners_sql}) {insert}", params)
            credited = cursor.fetchall()  # the rows inserted, not the skipped ones
            for card_id, earned in credited:
                deltas[card_id] += earned
            accrued = len(credited)
    reversals = _reverse_lines(lines)
    for entry in reversals:
        deltas[entry.card_id] += entry.points
    # Only the cards whose ledger changed: a re-run that finds everything counted writes nothing.
    _balances_add(deltas)
    return AccrualResult(accrued=accrued, reversed=len(reversals))


def _rate(amount: Decimal, rate: Decimal) -> int:
    return int((abs(amount) * rate).to_integral_value(rounding=ROUND_FLOOR))


def _reverse_lines(lines) -> list[PointsEntry]:
    """Negative lines (returns, refunds) take back what their sale earned, never more than
    the card still holds: points already spent stay spent. Soonest-expiring lots give first.

    A refund's sale is the positive lines of the same customer, document and product
    (sales_pipeline.selectors.lines_of_the_same_sales; a payment's refund carries its deal's
    document and products). It takes back the points those lines earned on this card in
    proportion to the amount refunded, and all the refunds of a sale together never more
    than it earned: a sale made before the card was issued earned nothing and loses
    nothing. A refund whose sale cannot be found (no document, or a return filed under a
    document of its own, as some imports do) takes back what the same amount earns today:
    the card's rate for the line's product line.

    Constant number of queries, by subquery (no id lists); writes in bulk; the caller holds
    the cards' locks. Returns the reversal entries written."""
    refunds = lines.filter(amount__lt=0)
    refund_cards = _accruing_cards().filter(holder_id__in=refunds.values("customer_id"))
    owners = {row["holder_id"]: row["card_id"] for row in refund_cards}
    if not owners:
        return []
    # Entries are found by card and line together: the unique (card, line) index.
    done = set(
        PointsEntry.objects.filter(
            card_id__in=refund_cards.values("card_id"), kind=PointsEntry.Kind.REVERSAL, line_id__in=refunds.values("id")
        ).values_list("line_id", flat=True)
    )
    negatives = [
        row for row in refunds.order_by("date", "id") if row["customer_id"] in owners and row["id"] not in done
    ]
    if not negatives:
        return []
    # Only the cards with something to reverse, and only their open lots, are read.
    wanted = {owners[row["customer_id"]] for row in negatives}
    cards = {card.pk: card for card in Card.objects.filter(pk__in=wanted).select_related("program")}
    line_rates = {
        (r.program_id, r.product_line_id): r.earn_rate
        for r in LineEarnRate.objects.filter(program_id__in={c.program_id for c in cards.values()})
    }
    lots = defaultdict(list)
    open_lots = PointsEntry.objects.filter(card_id__in=cards, remaining__gt=0)
    for pk, card_id, remaining, expires_on in open_lots.values_list("pk", "card_id", "remaining", "expires_on"):
        lots[card_id].append(_Lot(pk, remaining, expires_on))  # plain rows: thousands of them
    sales = _sales_of(refunds, cards=refund_cards.values("card_id"))
    new_entries, changed, now, reason = [], {}, timezone.now(), _("Return or refund")
    for row in negatives:
        card = cards[owners[row["customer_id"]]]
        if row["date"] < card.issued_on:
            continue
        sale = sales.sale_of(row["id"], card.pk)
        if sale is not None:
            points = min(sale.to_reverse(row["amount"]), sale.earned - sale.reversed)
        else:
            rate = line_rates.get((card.program_id, row["product_line_id"]), card.program.earn_rate)
            points = _rate(row["amount"], rate)
        points = min(points, sum(lot.remaining for lot in lots[card.pk]))
        if points <= 0:
            continue
        if sale is not None:
            sale.reversed += points
        for lot in _spend(lots[card.pk], points):
            changed[lot.pk] = lot
        new_entries.append(
            PointsEntry(
                card=card,
                kind=PointsEntry.Kind.REVERSAL,
                points=-points,
                date=row["date"],
                line_id=row["id"],
                reason=reason,
                created_at=now,
            )
        )
    PointsEntry.objects.bulk_create(new_entries)
    _remaining_set({lot.pk: lot.remaining for lot in changed.values()})
    return new_entries


@dataclass
class _Lot:
    """What spending needs of an open lot (_spend takes these or PointsEntry rows)."""

    pk: int
    remaining: int
    expires_on: date | None


def _remaining_set(remaining: dict[int, int]) -> None:
    """Write what is left of each lot in one UPDATE (Django's bulk_update builds a CASE per
    row: seconds for thousands of lots)."""
    _update_from_pairs(PointsEntry._meta.db_table, "remaining", "pair.value", remaining)


@dataclass
class _Sale:
    """One sale (customer, document, product) as one card saw it."""

    amount: Decimal = Decimal(0)  # what its positive lines add up to
    earned: int = 0  # the points they accrued on the card
    reversed: int = 0  # what its refunds took back so far

    def to_reverse(self, refund: Decimal) -> int:
        if self.amount <= 0:
            return 0
        return int((abs(refund) * self.earned / self.amount).to_integral_value(rounding=ROUND_FLOOR))


@dataclass
class _Sales:
    key_of_line: dict  # line id -> sale key (customer, document, product)
    amounts: dict  # sale key -> what its positive lines add up to
    by_card: dict  # (card id, sale key) -> _Sale

    def sale_of(self, line_id: int, card_id: int) -> _Sale | None:
        """The sale of a refund line as the card saw it; None when it has no sale (no
        document, or no positive line under its document and product)."""
        key = self.key_of_line.get(line_id)
        if key is None or self.amounts.get(key, 0) <= 0:
            return None
        return self.by_card.setdefault((card_id, key), _Sale(amount=self.amounts[key]))


def _sales_of(refunds, *, cards) -> _Sales:
    """The sales the refunds belong to, with what each earned and has had reversed per
    card: two queries (the sales' lines, then their points entries, by subquery)."""
    same_sales = lines_of_the_same_sales(refunds)
    rows = list(same_sales)
    key_of = {row["id"]: (row["customer_id"], row["document"], row["product_id"]) for row in rows}
    amounts: dict = defaultdict(Decimal)
    for row in rows:
        if row["amount"] > 0:
            amounts[key_of[row["id"]]] += row["amount"]
    sales = _Sales(key_of_line=key_of, amounts=amounts, by_card={})
    if not amounts:
        return sales
    entries = PointsEntry.objects.filter(
        card_id__in=cards,
        line_id__in=same_sales.values("id"),
        kind__in=[PointsEntry.Kind.ACCRUAL, PointsEntry.Kind.REVERSAL],
    ).values_list("card_id", "line_id", "kind", "points")
    for card_id, line_id, kind, points in entries:
        key = key_of.get(line_id)
        if key is None or amounts.get(key, 0) <= 0:
            continue
        sale = sales.by_card.setdefault((card_id, key), _Sale(amount=amounts[key]))
        if kind == PointsEntry.Kind.ACCRUAL:
            sale.earned += points
        else:
            sale.reversed += -points
    return sales


def _spend(lots: list, points: int) -> list:
    """Take `points` from the lots in memory, soonest expiry first; returns the lots it
    changed (the caller saves them)."""
    by_id = {lot.pk: lot for lot in lots}
    taken = allocation.allocate(points, [allocation.Lot(lot.pk, lot.remaining, lot.expires_on) for lot in lots])
    for lot_id, count in taken.items():
        by_id[lot_id].remaining -= count
    return [by_id[lot_id] for lot_id in taken]


#
# Redemption, expiry, adjustment
#


@transaction.atomic
def points_redeem(*, card: Card, points: int, reason: str = "", actor=None, today: date | None = None) -> PointsEntry:
    """Spend `points` of the card, soonest-expiring first. Under the card's row lock: a
    second redemption at the same moment waits, then sees what this one left. Refused
    (nothing written) when the card is not active or holds fewer points."""
    today = today or business_today()
    if points is None or int(points) <= 0:
        raise Refused(_("Give a positive number of points."))
    points = int(points)
    card = _lock([card.pk])[0]
    if card.status != Card.Status.ACTIVE:
        raise Refused(
            _("Card %(number)s is %(status)s.") % {"number": card.number, "status": card.get_status_display()}
        )
    _expire_locked([card.pk], today)
    card.refresh_from_db(fields=["balance"])
    if points > card.balance:
        raise Refused(
            _("Card %(number)s has %(balance)s points; %(points)s asked.")
            % {"number": card.number, "balance": card.balance, "points": points}
        )
    entry = _take(card, points, kind=PointsEntry.Kind.REDEMPTION, reason=reason, actor=actor, today=today)
    return entry


def _take(card: Card, points: int, *, kind: str, reason: str, actor, today: date) -> PointsEntry:
    lots = list(PointsEntry.objects.filter(card=card, remaining__gt=0))
    PointsEntry.objects.bulk_update(_spend(lots, points), ["remaining"], batch_size=500)
    entry = PointsEntry.objects.create(
        card=card, kind=kind, points=-points, date=today, reason=(reason or "")[:200], created_by=actor
    )
    Card.objects.filter(pk=card.pk).update(balance=F("balance") - points)
    return entry


@transaction.atomic
def points_adjust(*, card: Card, points: int, reason: str, actor=None, today: date | None = None) -> PointsEntry:
    """A manual correction with its reason: positive points are a lot that never expires,
    negative ones are taken soonest-expiring first and never below zero."""
    today = today or business_today()
    if not (reason or "").strip():
        raise Refused(_("Give the reason for the adjustment."))
    points = int(points)
    if points == 0:
        raise Refused(_("An adjustment of zero points changes nothing."))
    card = _lock([card.pk])[0]
    if points < 0:
        _expire_locked([card.pk], today)
        card.refresh_from_db(fields=["balance"])
        if -points > card.balance:
            raise Refused(
                _("Card %(number)s has only %(balance)s points.") % {"number": card.number, "balance": card.balance}
            )
        return _take(card, -points, kind=PointsEntry.Kind.ADJUSTMENT, reason=reason, actor=actor, today=today)
    entry = PointsEntry.objects.create(
        card=card,
        kind=PointsEntry.Kind.ADJUSTMENT,
        points=points,
        remaining=points,
        date=today,
        reason=reason.strip()[:200],
        created_by=actor,
    )
    Card.objects.filter(pk=card.pk).update(balance=F("balance") + points)
    return entry


@transaction.atomic
def points_expire(*, today: date | None = None) -> int:
    """Expire every lot whose date has come (expires_on <= today) with what is left of it:
    one expiry entry per lot. Returns the number of lots expired. Nightly."""
    today = today or business_today()
    due = PointsEntry.objects.filter(remaining__gt=0, expires_on__lte=today)
    card_ids = [card.pk for card in _lock(due.values("card_id"))]
    return _expire_locked(card_ids, today)


def _expire_locked(card_ids: list[int], today: date) -> int:
    lots = list(PointsEntry.objects.filter(card_id__in=card_ids, remaining__gt=0, expires_on__lte=today))
    if not lots:
        return 0
    now = timezone.now()
    PointsEntry.objects.bulk_create(
        [
            PointsEntry(
                card_id=lot.card_id,
                kind=PointsEntry.Kind.EXPIRY,
                points=-lot.remaining,
                date=lot.expires_on,
                reason=_("Points earned on %(date)s expired") % {"date": lot.date.isoformat()},
                created_at=now,
            )
            for lot in lots
        ]
    )
    PointsEntry.objects.filter(pk__in=[lot.pk for lot in lots]).update(remaining=0)
    _balances_from_ledger({lot.card_id for lot in lots})
    return len(lots)


#
# Tiers
#


@transaction.atomic
def tiers_evaluate(*, today: date | None = None, card_ids=None, actor=None) -> int:
    """Re-evaluate the tier of every active card of a tiered program (or of `card_ids`):
    qualification from the holder's ABC class in the latest snapshot and net revenue over
    the program's window, the manual floor, the grace period before a downgrade
    (tiering.decide). Each change is stored as a TierChange. Returns the number of changes.
    Nightly, after the segmentation recompute."""
    today = today or business_today()
    cards = Card.objects.filter(program__kind=Program.Kind.TIERED, status=Card.Status.ACTIVE)
    if card_ids is not None:
        cards = cards.filter(pk__in=card_ids)
    cards = _lock(cards.values("pk"))
    if not cards:
        return 0
    programs = {p.pk: p for p in Program.objects.filter(pk__in={c.program_id for c in cards})}
    tiers = defaultdict(list)
    for tier in Tier.objects.filter(program_id__in=programs):
        tiers[tier.program_id].append(tier)
    holders = {c.holder_id for c in cards if c.holder_id}
    as_of = CustomerSnapshot.objects.latest_date()
    classes = (
        dict(CustomerSnapshot.objects.filter(as_of=as_of, customer_id__in=holders).values_list("customer_id", "abc"))
        if as_of
        else {}
    )
    revenue: dict[tuple[int, int], Decimal] = {}
    for months in {p.tier_window_months for p in programs.values()}:  # one query per distinct window
        start = months_before(today, months) + timedelta(days=1)
        sums = (
            day_sums(start=start, end=today)
            .filter(customer_id__in=holders)
            .values("customer_id")
            .annotate(total=Sum("amount"))
            .order_by()
        )
        for row in sums:
            revenue[(months, row["customer_id"])] = Decimal(row["total"]) / MONEY_UNIT
    changed_cards, changes = [], []
    for card in cards:
        program = programs[card.program_id]
        by_rank = {tier.rank: tier for tier in tiers[program.pk]}
        by_id = {tier.pk: tier for tier in tiers[program.pk]}
        rules = [tiering.TierRule(t.rank, t.min_class, t.min_revenue) for t in by_rank.values()]
        qualified = tiering.qualified_rank(
            rules,
            abc=classes.get(card.holder_id, ""),
            revenue=revenue.get((program.tier_window_months, card.holder_id), Decimal(0)),
        )
        current = by_id[card.tier_id].rank if card.tier_id in by_id else None
        floor = by_id[card.floor_tier_id].rank if card.floor_tier_id in by_id else None
        decision = tiering.decide(
            current=current,
            qualified=qualified,
            floor=floor,
            below_since=card.below_since,
            today=today,
            grace_days=program.tier_grace_days,
        )
        new_tier = by_rank.get(decision.rank) if decision.rank is not None else None
        if decision.below_since != card.below_since or (new_tier and new_tier.pk) != card.tier_id:
            if (new_tier and new_tier.pk) != card.tier_id:
                changes.append(
                    TierChange(
                        card=card,
                        old_tier_id=card.tier_id,
                        new_tier=new_tier,
                        date=today,
                        reason=_tier_reason(decision.reason),
                        changed_by=actor,
                    )
                )
            card.tier = new_tier
            card.below_since = decision.below_since
            changed_cards.append(card)
    Card.objects.bulk_update(changed_cards, ["tier", "below_since"])
    TierChange.objects.bulk_create(changes)
    return len(changes)


def _tier_reason(code: str) -> str:
    return {
        "qualified": _("Qualified by class or revenue"),
        "manual floor": _("Manual floor tier"),
        "grace period over": _("Qualified lower for the whole grace period"),
        "first evaluation": _("Card issued"),
    }.get(code, code)


@transaction.atomic
def card_floor_set(*, card: Card, floor_tier: Tier | None, actor=None, today: date | None = None) -> Card:
    """Set (or clear) the manual floor tier; a card below its new floor is raised at once."""
    card = _lock([card.pk])[0]
    if floor_tier is not None and floor_tier.program_id != card.program_id:
        raise ValidationError({"floor_tier": _("The tier belongs to another program.")})
    card.floor_tier = floor_tier
    card.save(update_fields=["floor_tier"])
    tiers_evaluate(today=today, card_ids=[card.pk], actor=actor)
    card.refresh_from_db()
    return card


#
# The nightly job
#


@dataclass
class NightlyResult:
    accrued: int
    reversed: int
    expired: int
    tier_changes: int


def loyalty_nightly(*, today: date | None = None, days_back: int = 7) -> NightlyResult:
    """Accrue and reverse the last `days_back` days of settlement lines (imports arrive a
    few days late; lines already counted are skipped), expire due points, re-evaluate
    tiers against the recompute that ran before. Each part is its own transaction."""
    today = today or business_today()
    accrual = points_accrue(start=today - timedelta(days=days_back), end=today)
    expired = points_expire(today=today)
    changes = tiers_evaluate(today=today)
    return NightlyResult(accrual.accrued, accrual.reversed, expired, changes)


#
# The invariant
#


def balance_drift() -> list[tuple[str, int, int]]:
    """(card number, cached balance, ledger sum) of every card whose cached balance differs
    from the sum of its entries or is negative; one query."""
    rows = (
        Card.objects.annotate(ledger=Coalesce(Sum("entries__points"), 0))
        .filter(~Q(balance=F("ledger")) | Q(balance__lt=0))
        .values_list("number", "balance", "ledger")
        .order_by("number")
    )
    return list(rows)
