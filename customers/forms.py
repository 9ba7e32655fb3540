from django import forms
from django.contrib.auth import get_user_model

from .access import DIRECTOR, sees_everything, user_role
from .models import Customer


def assignable_managers(user):
    """Managers `user` may hand a customer to: a director's team members, or everyone
    for those who see everything. Managers cannot reassign."""
    users = get_user_model().objects.filter(is_active=True).order_by("username")
    if sees_everything(user):
        return users.filter(team_membership__isnull=False)
    if user_role(user) == DIRECTOR:
        return users.filter(team_membership__team__directors=user)
    return users.none()


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["kind", "name", "external_ref", "manager", "industry", "city", "email", "phone", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        managers = assignable_managers(user)
        if managers.exists():
            self.fields["manager"].queryset = managers
        else:
            # Only directors and admins assign; a manager's customers stay theirs.
            del self.fields["manager"]
