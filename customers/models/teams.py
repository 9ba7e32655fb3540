from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SalesTeam(models.Model):
    """A department or branch. A manager belongs to one team; a director directs several."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    directors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="directed_teams", verbose_name=_("directors")
    )

    class Meta:
        verbose_name = _("sales team")
        verbose_name_plural = _("sales teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """Puts a sales manager in exactly one team (the OneToOne makes 'one' a database rule)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership", verbose_name=_("user")
    )
    team = models.ForeignKey(SalesTeam, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("team"))

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"
