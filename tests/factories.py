"""factory-boy factories with deterministic Sequence values (no Faker, no random dates)."""

import datetime

import factory
from django.contrib.auth.models import User

from accounts_registry.models import Member, OrgUnit, Platform, Role, RoleGrant, SocialAccount, Training


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


def make_unit(name: str, parent: OrgUnit | None = None, kind: str = OrgUnit.Kind.UNIT) -> OrgUnit:
    """Treebeard nodes must be created through add_root/add_child, so units are not a factory."""
    if parent is None:
        return OrgUnit.objects.add_root(create_kwargs={"name": name, "kind": kind})
    parent.refresh_from_db()
    return OrgUnit.objects.add_child(parent, create_kwargs={"name": name, "kind": kind})


class MemberFactory(factory.django.DjangoModelFactory[Member]):
    class Meta:
        model = Member

    full_name = factory.Sequence(lambda n: f"Officer {n}")
    badge_number = factory.Sequence(lambda n: f"B{n:05d}")
    rank = "Constable"
    email = factory.Sequence(lambda n: f"officer{n}@police.example")


class TrainingFactory(factory.django.DjangoModelFactory[Training]):
    class Meta:
        model = Training

    member = factory.SubFactory(MemberFactory)
    course = "Social Media Spokesperson"
    completed_on = datetime.date(2026, 1, 15)
    expires_on = datetime.date(2028, 1, 15)
    platforms = factory.LazyFunction(lambda: [p.value for p in Platform])


class SocialAccountFactory(factory.django.DjangoModelFactory[SocialAccount]):
    class Meta:
        model = SocialAccount

    platform = Platform.X
    handle = factory.Sequence(lambda n: f"handle_{n}")
    kind = SocialAccount.Kind.UNIT
    status = SocialAccount.Status.ACTIVE


def grant(user, role: Role, unit: OrgUnit) -> RoleGrant:
    return RoleGrant.objects.create(user=user, role=role, unit=unit)
