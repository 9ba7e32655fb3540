from datetime import datetime

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.access import DIRECTOR, MANAGER
from customers.models import Customer, SalesTeam, TeamMembership


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


def make_user(username: str, role: str, *, team: SalesTeam | None = None, directs=()):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    if team is not None:
        TeamMembership.objects.create(user=user, team=team)
    for directed in directs:
        directed.directors.add(user)
    return user


def make_manager(username: str, team: SalesTeam):
    return make_user(username, MANAGER, team=team)


def make_director(username: str, *teams: SalesTeam):
    return make_user(username, DIRECTOR, directs=teams)


class SalesTeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SalesTeam
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    # Long-standing by default, so snapshots of past dates include them.
    created_at = factory.LazyFunction(lambda: timezone.make_aware(datetime(2020, 1, 1)))
    external_ref = factory.Sequence(lambda n: f"EXT{n:05d}")
    industry = "Manufacturing"
    city = "Leeds"
    email = factory.LazyAttribute(lambda c: f"{c.external_ref.lower()}@example.com")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Placed in its segment, as the services that create customers place them."""
        from customers.segment_rules import segment_for

        customer = model_class(*args, **kwargs)
        if "segment" not in kwargs:
            customer.segment = segment_for(customer)
        customer.save()
        return customer


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "customers.Product"
        django_get_or_create = ("sku",)

    sku = factory.Sequence(lambda n: f"SKU{n:04d}")
    name = factory.LazyAttribute(lambda p: f"Product {p.sku}")


class SettlementLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sales_pipeline.SettlementLine"

    customer = factory.SubFactory(CustomerFactory)
    amount = 100
    source_key = factory.Sequence(lambda n: f"test-{n}")
