import django.db.models.deletion
from django.db import migrations, models

# The cards counted and their points summed per (holder's manager, program, tier, status),
# kept by triggers in the statement that writes cards or reassigns customers, as
# sales_pipeline 0011 keeps the open deals' totals: statement-level triggers with transition
# tables on PostgreSQL, row triggers on SQLite. A holder without a manager is 0 in the key,
# a bearer card (no holder) -1, a card without a tier 0. The points liability and the tier
# distribution read it instead of joining every card with its holder (issue 15).
CARDS = "loyalty_card"
CUSTOMERS = "customers_customer"
TOTALS = "loyalty_cardtotal"
KEY = "holder_manager, program_id, tier, status"

# One transition table's cards grouped by key, their holder's manager as now.
_GROUPED = f"""
    SELECT CASE WHEN k.holder_id IS NULL THEN -1 ELSE COALESCE(c.manager_id, 0) END AS holder_manager,
           k.program_id, COALESCE(k.tier_id, 0) AS tier, k.status, COUNT(*) AS cards, SUM(k.balance)::bigint AS points
    FROM {{rows}} AS k LEFT JOIN {CUSTOMERS} AS c ON c.id = k.holder_id
    GROUP BY CASE WHEN k.holder_id IS NULL THEN -1 ELSE COALESCE(c.manager_id, 0) END,
             k.program_id, COALESCE(k.tier_id, 0), k.status
"""
_SUBTRACT = f"""
    UPDATE {TOTALS} AS t SET cards = t.cards - g.cards, points = t.points - g.points
    FROM ({{grouped}}) AS g
    WHERE t.holder_manager = g.holder_manager AND t.program_id = g.program_id
      AND t.tier = g.tier AND t.status = g.status;
    DELETE FROM {TOTALS} WHERE cards = 0;
"""
# in key order, so that two writers lock shared rows in the same order
_ADD = f"""
    INSERT INTO {TOTALS} AS t ({KEY}, cards, points)
    SELECT * FROM ({{grouped}}) AS g ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE SET cards = t.cards + EXCLUDED.cards, points = t.points + EXCLUDED.points;
"""
# A customer's manager changes: its cards leave the old manager's rows for the new's. The
# transition tables are never joined with each other (no statistics on them: nested loops,
# quadratic in a bulk update's rows); each side is aggregated alone and they meet in a GROUP BY.
_REASSIGNED = """
    SELECT id, MAX(manager_id) FILTER (WHERE side < 0) AS old_manager,
           MAX(manager_id) FILTER (WHERE side > 0) AS new_manager
    FROM (SELECT id, COALESCE(manager_id, 0) AS manager_id, -1 AS side FROM old_rows
          UNION ALL SELECT id, COALESCE(manager_id, 0), 1 FROM new_rows) AS sides
    GROUP BY id
    HAVING MAX(manager_id) FILTER (WHERE side < 0) <> MAX(manager_id) FILTER (WHERE side > 0)
"""
_MOVED = f"""
    SELECT m.{{side}}_manager AS holder_manager, k.program_id, COALESCE(k.tier_id, 0) AS tier, k.status,
           COUNT(*) AS cards, SUM(k.balance)::bigint AS points
    FROM ({_REASSIGNED}) AS m JOIN {CARDS} AS k ON k.holder_id = m.id
    GROUP BY m.{{side}}_manager, k.program_id, COALESCE(k.tier_id, 0), k.status
"""
# Whether an update changed anything counted, card holder by holder (so whatever their
# managers): the cards' count and points per holder and key, before against after. Most
# card updates (a tier's below_since, an expiry date) change nothing here.
_UPDATE_CHANGED = """
    SELECT 1 FROM (
        SELECT holder_id, program_id, tier_id, status, COUNT(*) AS cards, SUM(balance) AS points
        FROM new_rows GROUP BY holder_id, program_id, tier_id, status
        UNION ALL
        SELECT holder_id, program_id, tier_id, status, -COUNT(*), -SUM(balance)
        FROM old_rows GROUP BY holder_id, program_id, tier_id, status
    ) AS sides
    GROUP BY holder_id, program_id, tier_id, status
    HAVING SUM(cards) <> 0 OR SUM(points) <> 0
"""

POSTGRESQL_INSTALL = f"""
CREATE FUNCTION card_total_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each holder is locked (FOR SHARE) before its manager is read: a concurrent
    -- reassignment waits for this transaction and then sees its cards, or this waits for
    -- the reassignment and then reads the new manager. Either way the rows stay exact.
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM {CUSTOMERS} WHERE id IN (SELECT holder_id FROM new_rows) ORDER BY id FOR SHARE;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM {CUSTOMERS} WHERE id IN (SELECT holder_id FROM old_rows) ORDER BY id FOR SHARE;
    ELSE
        IF NOT EXISTS ({_UPDATE_CHANGED}) THEN
            RETURN NULL;
        END IF;
        PERFORM 1 FROM {CUSTOMERS} WHERE id IN (
            SELECT holder_id FROM old_rows UNION SELECT holder_id FROM new_rows
        ) ORDER BY id FOR SHARE;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        {_SUBTRACT.format(grouped=_GROUPED.format(rows="old_rows"))}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_ADD.format(grouped=_GROUPED.format(rows="new_rows"))}
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION card_total_reassign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS ({_REASSIGNED}) THEN
        RETURN NULL;
    END IF;
    {_SUBTRACT.format(grouped=_MOVED.format(side="old"))}
    {_ADD.format(grouped=_MOVED.format(side="new"))}
    RETURN NULL;
END $$;

CREATE FUNCTION card_total_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TOTALS};
    RETURN NULL;
END $$;

CREATE TRIGGER card_total_insert AFTER INSERT ON {CARDS}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION card_total_apply();
CREATE TRIGGER card_total_update AFTER UPDATE ON {CARDS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION card_total_apply();
CREATE TRIGGER card_total_delete AFTER DELETE ON {CARDS}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION card_total_apply();
CREATE TRIGGER card_total_truncate AFTER TRUNCATE ON {CARDS}
    FOR EACH STATEMENT EXECUTE FUNCTION card_total_clear();
CREATE TRIGGER card_total_reassign AFTER UPDATE ON {CUSTOMERS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION card_total_reassign();
"""

POSTGRESQL_UNINSTALL = f"""
DROP TRIGGER card_total_insert ON {CARDS};
DROP TRIGGER card_total_update ON {CARDS};
DROP TRIGGER card_total_delete ON {CARDS};
DROP TRIGGER card_total_truncate ON {CARDS};
DROP TRIGGER card_total_reassign ON {CUSTOMERS};
DROP FUNCTION card_total_apply();
DROP FUNCTION card_total_reassign();
DROP FUNCTION card_total_clear();
"""

_SQLITE_HOLDER_MANAGER = (
    "CASE WHEN {row}.holder_id IS NULL THEN -1 "
    f"ELSE COALESCE((SELECT manager_id FROM {CUSTOMERS} WHERE id = {{row}}.holder_id), 0) END"
)
# (WHERE 1: SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT)
_SQLITE_ADD = f"""
    INSERT INTO {TOTALS} ({KEY}, cards, points)
    SELECT {_SQLITE_HOLDER_MANAGER.format(row="NEW")}, NEW.program_id, COALESCE(NEW.tier_id, 0), NEW.status, 1, NEW.balance
    WHERE 1
    ON CONFLICT ({KEY}) DO UPDATE SET cards = cards + 1, points = points + excluded.points;
"""
_SQLITE_REMOVE = f"""
    UPDATE {TOTALS} SET cards = cards - 1, points = points - OLD.balance
    WHERE holder_manager = {_SQLITE_HOLDER_MANAGER.format(row="OLD")} AND program_id = OLD.program_id
      AND tier = COALESCE(OLD.tier_id, 0) AND status = OLD.status;
    DELETE FROM {TOTALS} WHERE cards = 0;
"""
_SQLITE_HOLDER_CARDS = (
    f"FROM {CARDS} AS k WHERE k.holder_id = OLD.id AND k.program_id = {TOTALS}.program_id "
    f"AND COALESCE(k.tier_id, 0) = {TOTALS}.tier AND k.status = {TOTALS}.status"
)
_SQLITE_REASSIGN = f"""
    UPDATE {TOTALS}
    SET cards = cards - (SELECT COUNT(*) {_SQLITE_HOLDER_CARDS}),
        points = points - (SELECT COALESCE(SUM(k.balance), 0) {_SQLITE_HOLDER_CARDS})
    WHERE holder_manager = COALESCE(OLD.manager_id, 0);
    DELETE FROM {TOTALS} WHERE cards = 0;
    INSERT INTO {TOTALS} ({KEY}, cards, points)
    SELECT COALESCE(NEW.manager_id, 0), k.program_id, COALESCE(k.tier_id, 0), k.status, COUNT(*), SUM(k.balance)
    FROM {CARDS} AS k WHERE k.holder_id = NEW.id
    GROUP BY k.program_id, COALESCE(k.tier_id, 0), k.status
    ON CONFLICT ({KEY}) DO UPDATE SET cards = cards + excluded.cards, points = points + excluded.points;
"""
SQLITE_INSTALL = [
    f"CREATE TRIGGER card_total_insert AFTER INSERT ON {CARDS} BEGIN {_SQLITE_ADD} END",
    f"CREATE TRIGGER card_total_update AFTER UPDATE OF balance, status, tier_id, program_id, holder_id "
    f"ON {CARDS} BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
    f"CREATE TRIGGER card_total_delete AFTER DELETE ON {CARDS} BEGIN {_SQLITE_REMOVE} END",
    f"CREATE TRIGGER card_total_reassign AFTER UPDATE OF manager_id ON {CUSTOMERS} "
    f"WHEN OLD.manager_id IS NOT NEW.manager_id BEGIN {_SQLITE_REASSIGN} END",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER card_total_insert",
    "DROP TRIGGER card_total_update",
    "DROP TRIGGER card_total_delete",
    "DROP TRIGGER card_total_reassign",
]


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        statements = [POSTGRESQL_INSTALL]
    elif vendor == "sqlite":
        statements = list(SQLITE_INSTALL)
    else:
        raise NotImplementedError(f"The card totals have triggers for PostgreSQL and SQLite only, not {vendor}.")
    # The cards already there, once; the triggers keep it from here on.
    statements.append(
        f"INSERT INTO {TOTALS} ({KEY}, cards, points) "
        f"SELECT CASE WHEN k.holder_id IS NULL THEN -1 ELSE COALESCE(c.manager_id, 0) END, k.program_id, "
        f"COALESCE(k.tier_id, 0), k.status, COUNT(*), SUM(k.balance) "
        f"FROM {CARDS} AS k LEFT JOIN {CUSTOMERS} AS c ON c.id = k.holder_id "
        f"GROUP BY CASE WHEN k.holder_id IS NULL THEN -1 ELSE COALESCE(c.manager_id, 0) END, k.program_id, "
        f"COALESCE(k.tier_id, 0), k.status"
    )
    for statement in statements:
        schema_editor.execute(statement)


def uninstall(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in [POSTGRESQL_UNINSTALL] if vendor == "postgresql" else SQLITE_UNINSTALL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0016_covering_list_indexes"),
        ("loyalty", "0006_measure_store"),
    ]

    operations = [
        migrations.CreateModel(
            name="CardTotal",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "holder_manager", "program", "tier", "status",
                        blank=True, editable=False, primary_key=True, serialize=False,
                    ),
                ),
                ("holder_manager", models.IntegerField()),
                ("tier", models.IntegerField(help_text="The tier's id, 0 for none.")),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Active"), ("blocked", "Blocked"), ("expired", "Expired")], max_length=10
                    ),
                ),
                ("cards", models.PositiveIntegerField(help_text="Cards; the row goes when it reaches 0.")),
                ("points", models.BigIntegerField(help_text="Sum of their balances.")),
                (
                    "program",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="loyalty.program",
                    ),
                ),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
