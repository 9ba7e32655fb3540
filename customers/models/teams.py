from django.conf import settings
from django.db import models


class SalesTeam(models.Model):
    """A department or branch. A manager belongs to one team; a director directs several."""

    name = models.CharField(max_length=100, unique=True)
    directors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="directed_teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """Puts a sales manager in exactly one team (the OneToOne makes 'one' a database rule)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_membership")
    team = models.ForeignKey(SalesTeam, on_delete=models.PROTECT, related_name="memberships")

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"
