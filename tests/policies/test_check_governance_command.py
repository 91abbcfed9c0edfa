import datetime

import pytest
from django.core.management import call_command

from policies.models import PolicyFlag, PolicyRule
from tests.factories import MemberFactory, SocialAccountFactory

pytestmark = pytest.mark.django_db


def test_check_governance_flags_an_account_whose_holder_left(org, capsys):
    PolicyRule.objects.create(
        name="Holder has left", explanation="An account must not outlive its holder.", severity="critical",
        kind="governance", config={"check": "holder_left"},
    )  # fmt: skip
    leaver = MemberFactory.create(unit=org["11"], left_on=datetime.date(2026, 1, 31))
    account = SocialAccountFactory.create(unit=org["11"], kind="personal", holder=leaver, handle="GoneOfficer")
    call_command("check_governance")
    call_command("check_governance")  # daily re-runs never duplicate
    assert PolicyFlag.objects.filter(account=account, message__isnull=True).count() == 1
    assert "1 new flag(s)" in capsys.readouterr().out
