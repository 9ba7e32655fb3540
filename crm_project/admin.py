"""Admin pieces every app uses: records that only their own services may write."""

from django.contrib import admin


class ReadOnlyAdminMixin:
    """Admin may look, never add or change: the rows are written by a service that keeps
    the rules (a payment writes its ledger lines, the recompute its snapshots). Set
    `deletable = True` where removing a row is harmless (a snapshot, a finished run)."""

    deletable = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
