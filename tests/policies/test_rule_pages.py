"""Rule pages: admins only, forms per kind, RE2 refusals, statistics, enable/disable, delete, rescans."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from accounts_registry.models import AuditEvent
from policies.models import PolicyRule, RescanJob
from policies.services.rescan import rescan_run
from tests.factories import HOSTILE, flag_on, make_message, make_rule

pytestmark = pytest.mark.django_db

RULES = reverse("policies:rules")
NEW = reverse("policies:rule-new")
HTMX = {"HX-Request": "true"}
NOW = datetime.datetime(2026, 11, 20, 18, 0, tzinfo=datetime.UTC)


def rule_url(rule, name="rule", **kwargs):
    return reverse(f"policies:{name}", kwargs={"pk": rule.pk, **kwargs})


def keywords_post(**overrides):
    return {
        "name": "Case details",
        "explanation": "Never share the details of an open case.",
        "severity": "critical",
        "direction": "outbound",
        "is_enabled": "on",
        "terms": "suspect name\nvictim name\n",
        "exceptions": "suspect name withheld\n",
        **overrides,
    }


@pytest.fixture
def org_rule(org):
    return make_rule("No confidential information", severity="critical")


@pytest.fixture
def south_rule(org):
    return make_rule("South only", unit=org["south"])


@pytest.fixture
def north_rule(org):
    return make_rule("North only", unit=org["north"])


# --- Access ---------------------------------------------------------------------------------------


def test_supervisors_get_403_everywhere(client, viewer, outsider, org_rule):
    job = RescanJob.objects.create(rule=org_rule, since=NOW - datetime.timedelta(days=7), until=NOW)
    for user in (viewer, outsider):
        client.force_login(user)
        for url in (RULES, NEW, f"{NEW}?kind=regex", rule_url(org_rule), rule_url(org_rule, "rule-delete")):
            assert client.get(url).status_code == 403, url
        for url in (rule_url(org_rule, "rule-toggle"), rule_url(org_rule, "rule-rescan"), rule_url(org_rule)):
            assert client.post(url, {"is_enabled": "0", "days": "7"}).status_code == 403, url
        assert client.get(rule_url(org_rule, "rescan", job_pk=job.pk), headers=HTMX).status_code == 403
    org_rule.refresh_from_db()
    assert org_rule.is_enabled
    assert RescanJob.objects.count() == 1


def test_anonymous_is_sent_to_login(client, org_rule):
    assert client.get(RULES)["Location"].startswith("/accounts/login/")


def test_unit_admin_sees_rules_that_apply_to_the_unit_only(client, owner, org_rule, north_rule, south_rule):
    client.force_login(owner)
    response = client.get(RULES)
    assert response.status_code == 200
    assertContains(response, "No confidential information")
    assertContains(response, "North only")
    assertNotContains(response, "South only")
    assert client.get(rule_url(south_rule)).status_code == 404
    assert client.post(rule_url(south_rule, "rule-toggle"), {"is_enabled": "0"}).status_code == 404


def test_unit_admin_reads_organization_rules_but_cannot_change_them(client, owner, org_rule):
    client.force_login(owner)
    page = client.get(rule_url(org_rule))
    assert page.status_code == 200
    assertContains(page, "only an admin of the whole organization changes it")
    assertNotContains(page, "Save the rule")
    assert client.post(rule_url(org_rule), keywords_post(name="Hijacked")).status_code == 403
    assert client.post(rule_url(org_rule, "rule-toggle"), {"is_enabled": "0"}).status_code == 403
    assert client.post(rule_url(org_rule, "rule-delete")).status_code == 403
    org_rule.refresh_from_db()
    assert (org_rule.name, org_rule.is_enabled) == ("No confidential information", True)


def test_unit_admin_creates_rules_for_their_subtree_only(client, owner, org):
    client.force_login(owner)
    form_page = client.get(f"{NEW}?kind=keywords")
    assertContains(form_page, "North Division")
    assertNotContains(form_page, "South Division")
    assertNotContains(form_page, "The whole organization")
    response = client.post(f"{NEW}?kind=keywords", keywords_post(unit=org["south"].pk))
    assert response.status_code == 200
    assertContains(response, "Select a valid choice")
    response = client.post(f"{NEW}?kind=keywords", keywords_post(unit=""))
    assert response.status_code == 200
    assert not PolicyRule.objects.exists()
    response = client.post(f"{NEW}?kind=keywords", keywords_post(unit=org["11"].pk))
    rule = PolicyRule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == rule_url(rule)
    assert rule.unit == org["11"]


# --- Create and edit ------------------------------------------------------------------------------


def test_kind_picker_then_keywords_rule_is_created_with_audit(client, admin_user):
    client.force_login(admin_user)
    picker = client.get(NEW)
    assertContains(picker, f"{NEW}?kind=regex")
    response = client.post(f"{NEW}?kind=keywords", keywords_post())
    rule = PolicyRule.objects.get()
    assert response.status_code == 302
    assert (rule.kind, rule.severity, rule.unit, rule.is_enabled) == ("keywords", "critical", None, True)
    assert rule.config == {"terms": ["suspect name", "victim name"], "exceptions": ["suspect name withheld"]}
    assert AuditEvent.objects.filter(verb="policy_rule.create", target_id=str(rule.pk), actor=admin_user).exists()
    page = client.get(response["Location"])
    assertContains(page, "Rescan history")
    assertContains(page, "suspect name\nvictim name")


@pytest.mark.parametrize(
    "pattern",
    ["(?<=badge )\\d+", "(unclosed", "(a)\\1"],
)
def test_bad_regex_is_refused_with_re2_reason_and_nothing_written(client, admin_user, pattern):
    client.force_login(admin_user)
    post = keywords_post(name="Badge numbers", pattern=pattern)
    response = client.post(f"{NEW}?kind=regex", post)
    assert response.status_code == 200
    assertContains(response, "RE2")
    assertContains(response, "cannot compile this pattern")
    assert not PolicyRule.objects.exists()
    assert not AuditEvent.objects.filter(verb__startswith="policy_rule").exists()


def test_regex_that_matches_everything_is_refused(client, admin_user):
    client.force_login(admin_user)
    response = client.post(f"{NEW}?kind=regex", keywords_post(pattern="x*"))
    assertContains(response, "matches empty text")
    assert not PolicyRule.objects.exists()


def test_good_regex_and_other_kinds_are_created(client, admin_user, org):
    client.force_login(admin_user)
    base = keywords_post()
    cases: dict[str, dict[str, object]] = {
        "regex": {"pattern": r"\bbadge\s+#?\d{4,6}\b"},
        "detector": {"detector": "phone_number", "region": "ca", "allowed": "416-808-2222", "pattern": "ignored"},
        "link_domains": {"allowed": "Police.example\ncity.example"},
        "posting_hours": {"start": "07:00", "end": "22:00", "timezone": "America/Toronto"},
        "governance": {"check": "dormant", "days": "45", "kinds": ["personal"]},
    }
    for index, (kind, fields) in enumerate(cases.items()):
        response = client.post(f"{NEW}?kind={kind}", {**base, "name": f"Rule {index}", **fields})
        assert response.status_code == 302, (kind, response.content.decode()[:3000])
    configs = dict(PolicyRule.objects.values_list("kind", "config"))
    assert configs["regex"] == {"pattern": r"\bbadge\s+#?\d{4,6}\b"}
    assert configs["detector"] == {"detector": "phone_number", "region": "CA", "allowed": ["416-808-2222"]}
    assert configs["link_domains"] == {"allowed": ["police.example", "city.example"]}
    assert configs["posting_hours"] == {"start": "07:00", "end": "22:00", "timezone": "America/Toronto"}
    assert configs["governance"] == {"check": "dormant", "days": 45, "kinds": ["personal"]}


def test_detector_option_errors_land_on_their_field(client, admin_user):
    client.force_login(admin_user)
    response = client.post(f"{NEW}?kind=detector", keywords_post(detector="phone_number", region="ZZ"))
    assert response.status_code == 200
    assertContains(response, "is not a region code phonenumbers knows")
    assert not PolicyRule.objects.exists()


def test_edit_saves_and_audits_and_duplicate_names_are_refused(client, admin_user, org_rule, north_rule):
    client.force_login(admin_user)
    page = client.get(rule_url(org_rule))
    assertContains(page, "confidential")
    response = client.post(
        rule_url(org_rule), keywords_post(name=org_rule.name, terms="confidential\nsecret", exceptions="")
    )
    assert response.status_code == 302
    org_rule.refresh_from_db()
    assert org_rule.config["terms"] == ["confidential", "secret"]
    assert AuditEvent.objects.filter(verb="policy_rule.update", target_id=str(org_rule.pk)).count() == 1
    response = client.post(rule_url(org_rule), keywords_post(name="North only"))
    assert response.status_code == 200
    assertContains(response, "already exists")


def test_hostile_rule_names_render_escaped(client, admin_user):
    make_rule(f"R {HOSTILE}"[:200], config={"terms": ["x"]})
    client.force_login(admin_user)
    body = client.get(RULES).content.decode()
    assert "<script>alert(1)" not in body
    assert "<img src=x" not in body


# --- Enable, disable, delete ----------------------------------------------------------------------


def test_toggle_updates_the_row_in_place(client, admin_user, org_rule):
    client.force_login(admin_user)
    response = client.post(rule_url(org_rule, "rule-toggle"), {"is_enabled": "0"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.strip().startswith(f'<tr id="rule-row-{org_rule.pk}"')
    assert "Enable</button>" in body
    org_rule.refresh_from_db()
    assert not org_rule.is_enabled
    assert AuditEvent.objects.filter(verb="policy_rule.disable").count() == 1
    response = client.post(rule_url(org_rule, "rule-toggle"), {"is_enabled": "1"})
    assert response.status_code == 302
    org_rule.refresh_from_db()
    assert org_rule.is_enabled


def test_delete_confirms_then_deletes_with_flags(client, admin_user, org_rule, north_account):
    flag_on(org_rule, north_account, message=make_message(north_account, "confidential"))
    client.force_login(admin_user)
    confirm = client.get(rule_url(org_rule, "rule-delete"))
    assertContains(confirm, "<strong>1</strong> flag")
    assert PolicyRule.objects.filter(pk=org_rule.pk).exists()
    response = client.post(rule_url(org_rule, "rule-delete"))
    assert response["Location"] == RULES
    assert not PolicyRule.objects.filter(pk=org_rule.pk).exists()
    assert AuditEvent.objects.filter(verb="policy_rule.delete").count() == 1


# --- Statistics -----------------------------------------------------------------------------------


def test_statistics_count_hits_recent_hits_and_false_positive_rate(
    client, admin_user, owner, org_rule, north_account, south_account
):
    def flag(account, days_ago, status):
        created = NOW - datetime.timedelta(days=days_ago)
        message = make_message(account, "confidential")
        return flag_on(org_rule, account, message=message, status=status, created_at=created)

    with time_machine.travel(NOW, tick=False):
        flag(north_account, 1, "open")
        flag(north_account, 2, "acknowledged")
        flag(north_account, 3, "false_positive")
        flag(north_account, 40, "resolved")
        flag(north_account, 50, "resolved")
        flag(south_account, 1, "false_positive")
        flag(south_account, 2, "false_positive")

        client.force_login(admin_user)
        page = client.get(RULES).content.decode()
        assert '<td class="num" data-stat="total">7</td>' in page
        assert '<td class="num" data-stat="recent">5</td>' in page
        assert "50% <span" in page  # 3 false positives of 6 reviewed

        client.force_login(owner)  # North's admin: only North's flags count
        page = client.get(RULES).content.decode()
        assert '<td class="num" data-stat="total">5</td>' in page
        assert '<td class="num" data-stat="recent">3</td>' in page
        assert "25% <span" in page  # 1 of 4 reviewed
        detail = client.get(rule_url(org_rule))
        assertContains(detail, "25% (1 of 4 reviewed)")


def test_rule_without_reviews_shows_no_rate(client, admin_user, org_rule):
    client.force_login(admin_user)
    assertContains(client.get(rule_url(org_rule)), "none reviewed yet")


# --- Rescans --------------------------------------------------------------------------------------


def test_rescan_shows_a_progress_bar_that_polls_until_done(client, admin_user, org_rule, north_account):
    two_days_ago = timezone.now() - datetime.timedelta(days=2)
    for index in range(3):
        make_message(north_account, f"confidential note {index}", created_at=two_days_ago)
    client.force_login(admin_user)
    response = client.post(rule_url(org_rule, "rule-rescan"), {"days": "7"}, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    job = RescanJob.objects.get()
    assert (job.rule, job.status, job.until - job.since) == (org_rule, "queued", datetime.timedelta(days=7))
    progress_url = rule_url(org_rule, "rescan", job_pk=job.pk)
    assert f'hx-get="{progress_url}" hx-trigger="every 2s"' in body
    assert "<progress" in body

    rescan_run(job_id=job.pk, batch_size=1, max_batches=1)
    fragment = client.get(progress_url, headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.content.decode()
    assert "<html" not in body
    assert 'hx-trigger="every 2s"' in body
    assert '<progress id="rescan-bar" max="100" value="33">' in body
    assert "1 of 3 messages" in body

    rescan_run(job_id=job.pk)
    body = client.get(progress_url, headers=HTMX).content.decode()
    assert "hx-trigger" not in body  # done: the fragment stops polling
    assert 'value="100"' in body
    assert "3 new flags" in body
    assert AuditEvent.objects.filter(verb="policy.rescan", actor=admin_user).count() == 1


def test_rescan_progress_without_htmx_goes_to_the_rule_page(client, admin_user, org_rule):
    job = RescanJob.objects.create(rule=org_rule, since=NOW - datetime.timedelta(days=7), until=NOW)
    client.force_login(admin_user)
    response = client.get(rule_url(org_rule, "rescan", job_pk=job.pk))
    assert response["Location"] == rule_url(org_rule)
    other = make_rule("Other")
    assert client.get(rule_url(other, "rescan", job_pk=job.pk), headers=HTMX).status_code == 404


def test_rescan_without_htmx_redirects_with_a_message(client, admin_user, org_rule):
    client.force_login(admin_user)
    response = client.post(rule_url(org_rule, "rule-rescan"), {"days": "30"})
    assert response.status_code == 302
    assertContains(client.get(response["Location"]), "Rescan queued")
    assert client.post(rule_url(org_rule, "rule-rescan"), {"days": "9999"}).status_code == 302
    assert RescanJob.objects.count() == 1


def test_governance_rules_offer_no_rescan(client, admin_user):
    rule = make_rule("Dormant", kind="governance", config={"check": "dormant"})
    client.force_login(admin_user)
    assertContains(client.get(rule_url(rule)), "there is no history to rescan")
    response = client.post(rule_url(rule, "rule-rescan"), {"days": "7"}, headers=HTMX)
    assert response.status_code == 200
    assert not RescanJob.objects.exists()
