"""A rescan's figures cover its rule's whole scope: shown only to who may manage the rule.

Failed before: a North admin opening the organization-wide rule (it applies to their subtree) saw its
latest rescan's totals — messages read and flags raised across every unit.
"""

import datetime

import pytest
from django.urls import reverse

from policies.models import RescanJob
from tests.factories import make_rule

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 18, 0, tzinfo=datetime.UTC)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def org_rule_rescanned(org):
    rule = make_rule("No confidential information", severity="critical")
    job = RescanJob.objects.create(
        rule=rule,
        since=NOW - datetime.timedelta(days=7),
        until=NOW,
        status=RescanJob.Status.DONE,
        total=48213,
        processed=48213,
        flags_created=377,
    )
    return rule, job


def test_a_sub_unit_admin_sees_no_totals_of_an_ancestor_rules_rescan(client, owner, org_rule_rescanned):
    rule, job = org_rule_rescanned
    client.force_login(owner)
    page = client.get(reverse("policies:rule", kwargs={"pk": rule.pk}))
    assert page.status_code == 200
    body = page.content.decode()
    assert "48213" not in body and "377" not in body
    progress = client.get(reverse("policies:rescan", kwargs={"pk": rule.pk, "job_pk": job.pk}), headers=HTMX)
    assert progress.status_code == 404


def test_the_organization_admin_sees_them(client, admin_user, org_rule_rescanned):
    rule, job = org_rule_rescanned
    client.force_login(admin_user)
    body = client.get(reverse("policies:rule", kwargs={"pk": rule.pk})).content.decode()
    assert "48213" in body and "377 new flags" in body
    progress = client.get(reverse("policies:rescan", kwargs={"pk": rule.pk, "job_pk": job.pk}), headers=HTMX)
    assert progress.status_code == 200
