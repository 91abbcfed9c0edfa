"""The health problems in SQL (the overview's counts) match the health page's (Python) definitions."""

import datetime

import pytest
from django.utils import timezone

from accounts_registry.models import SocialAccount
from monitoring.models import PollState
from monitoring.selectors import Problem, _problems, problem_q
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db


def test_problem_q_agrees_with_the_health_page(org, frozen_now):
    now = timezone.now()
    long_ago = now - datetime.timedelta(days=3)
    cases = [
        ("ok", "active", "unit", now, 0),
        ("failing", "active", "unit", now, 2),
        ("stale", "active", "unit", long_ago, 0),
        ("stale corporate", "active", "corporate", now - datetime.timedelta(minutes=30), 0),
        ("never polled", "active", "unit", None, 0),
        ("reconnect", "needs_reconnect", "unit", long_ago, 3),
        ("paused", "paused", "unit", long_ago, 0),
    ]
    for handle, status, kind, success, failures in cases:
        account = SocialAccountFactory.create(
            handle=handle.replace(" ", "_"), status=status, kind=kind, unit=org["11"], status_changed_at=long_ago
        )
        if handle != "never polled":
            PollState.objects.create(account=account, last_success_at=success, consecutive_failures=failures)
    accounts = SocialAccount.objects.select_related("poll_state")
    for problem in Problem.ALL:
        in_sql = set(accounts.filter(problem_q(problem, now=now)).values_list("handle", flat=True))
        in_python = {
            account.handle
            for account in accounts
            if problem in _problems(account, getattr(account, "poll_state", None), now)
        }
        assert in_sql == in_python, problem
    assert set(accounts.filter(problem_q(Problem.STALE, now=now)).values_list("handle", flat=True)) >= {
        "stale",
        "never_polled",
    }
