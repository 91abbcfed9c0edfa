import pytest
from django.db import IntegrityError, transaction

from accounts_registry.models import AuditEvent, Member
from common.bulk import copy_insert

pytestmark = pytest.mark.django_db


def test_copy_insert_sets_ids_and_stores_every_value_as_save_would(org):
    members = [Member(full_name=f"Officer {n}", badge_number=f"C{n}", unit=org["11"]) for n in range(3)]
    copy_insert(Member, members)
    assert all(member.pk for member in members)
    events = [
        AuditEvent(
            verb="member.create",
            target_type="accounts_registry.member",
            target_id=str(member.pk),
            target_repr=str(member),
            unit=member.unit,
            after={"badge": member.badge_number, "ü": [1, None]},
        )
        for member in members
    ]
    copy_insert(AuditEvent, events)
    stored = AuditEvent.objects.get(pk=events[2].pk)
    assert (stored.unit, stored.after, stored.before) == (org["11"], {"badge": "C2", "ü": [1, None]}, {})
    assert stored.created_at == events[2].created_at
    assert Member.objects.get(pk=members[0].pk).updated_at is not None  # auto_now, as save() sets it
    assert not members[0]._state.adding


def test_copy_insert_raises_djangos_integrity_error(org):
    Member.objects.create(full_name="First", badge_number="DUP", unit=org["11"])
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_insert(Member, [Member(full_name="Second", badge_number="DUP", unit=org["11"])])
    assert Member.objects.filter(badge_number="DUP").count() == 1
