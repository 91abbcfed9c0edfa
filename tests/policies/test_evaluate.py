"""Evaluation on ingest and rescans of history, through the real ingest path on PostgreSQL."""

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from accounts_registry.models import AuditEvent
from monitoring.connectors.base import NormalizedMessage
from monitoring.models import Message
from monitoring.services.ingest import messages_upsert
from policies.engine import current_engine
from policies.models import PolicyFlag, PolicyRule, RescanJob
from policies.services.evaluate import messages_evaluate, policies_on_ingest
from policies.services.rescan import rescan_request, rescan_run
from policies.services.rules import rule_create, rule_delete, rule_set_enabled, rule_update, rule_validate
from policies.tasks import rescan_history
from tests.factories import SocialAccountFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)  # 10:00 in Toronto


def post(account, external_id, text, *, minutes=0, direction="outbound"):
    return NormalizedMessage(
        platform=account.platform, external_id=external_id, direction=direction,
        kind="post" if direction == "outbound" else "mention", author_id=account.external_id or "1",
        author_handle=account.handle, author_name=account.handle, text=text,
        created_at=T0 + datetime.timedelta(minutes=minutes), conversation_id=external_id, in_reply_to_id="",
    )  # fmt: skip


def ingest(account, *messages):
    """What a poll does: upsert, then the policies' ingest hook on the new rows."""
    result = messages_upsert(account_id=account.pk, messages=list(messages))
    policies_on_ingest(result.new_ids)
    return result


def keyword_rule(name="Operational details", terms=("search warrant", "informant"), **fields):
    defaults = {"explanation": "Never reveal operations.", "severity": "warning", "unit": None}
    return rule_create(
        actor=None,
        name=name,
        kind="keywords",
        config={"terms": list(terms), "exceptions": []},
        **{**defaults, **fields},
    )


def flags_of(external_id):
    return list(PolicyFlag.objects.filter(message__external_id=external_id).order_by("rule__name"))


# --- on ingest ---------------------------------------------------------------------------------------------


def test_a_flag_records_rule_message_account_spans_and_excerpt(north_account):
    rule = keyword_rule()
    ingest(north_account, post(north_account, "100", "Our informant says the Search Warrant is for tomorrow"))
    [flag] = flags_of("100")
    assert (flag.rule, flag.account, flag.status) == (rule, north_account, "open")
    assert flag.message == Message.objects.get(external_id="100")
    assert flag.spans == [[4, 13], [23, 37]]
    assert flag.excerpt == "Our informant says the Search Warrant is for tomorrow"


def test_clean_messages_raise_no_flag(north_account):
    keyword_rule()
    ingest(north_account, post(north_account, "100", "Road closed on King Street until 6pm"))
    assert PolicyFlag.objects.count() == 0


def test_re_evaluation_never_duplicates_flags_and_keeps_the_review(north_account):
    rule = keyword_rule()
    ingest(north_account, post(north_account, "100", "informant"))
    PolicyFlag.objects.update(status=PolicyFlag.Status.RESOLVED, note="Talked to the member.")
    ingest(north_account, post(north_account, "100", "informant"))  # a re-poll
    message = Message.objects.select_related("account__unit").get(external_id="100")
    assert messages_evaluate(messages=[message]) == 0
    policies_on_ingest([message.pk])
    [flag] = PolicyFlag.objects.all()
    assert (flag.rule, flag.status, flag.note) == (rule, "resolved", "Talked to the member.")


def test_a_rule_for_one_subtree_never_flags_another(org, north_account, south_account):
    keyword_rule(name="North only", unit=org["north"])
    ingest(north_account, post(north_account, "100", "the informant"))
    ingest(south_account, post(south_account, "200", "the informant"))
    assert [flag.rule.name for flag in flags_of("100")] == ["North only"]
    assert flags_of("200") == []


def test_platform_and_direction_scopes(org, north_account):
    facebook = SocialAccountFactory.create(platform="facebook", handle="MPS11FB", unit=org["11"])
    keyword_rule(name="X outbound", platforms=["x"])
    keyword_rule(name="Inbound", direction="inbound")
    keyword_rule(name="Both", direction="both")
    ingest(north_account, post(north_account, "100", "informant"))
    ingest(north_account, post(north_account, "101", "informant", direction="inbound"))
    ingest(facebook, post(facebook, "102", "informant"))
    assert [flag.rule.name for flag in flags_of("100")] == ["Both", "X outbound"]
    assert [flag.rule.name for flag in flags_of("101")] == ["Both", "Inbound"]
    assert [flag.rule.name for flag in flags_of("102")] == ["Both"]


def test_every_matcher_kind_flags_through_ingest(north_account):
    keyword_rule()
    common: dict[str, Any] = {"actor": None, "explanation": "Explained.", "severity": "warning"}
    rule_create(name="Promo", kind="regex", config={"pattern": r"(?i)promo\s+code"}, **common)
    rule_create(name="Phones", kind="detector", config={"detector": "phone_number", "region": "CA"}, **common)
    rule_create(name="Links", kind="link_domains", config={"allowed": ["police.example"]}, **common)
    rule_create(
        name="Hours",
        kind="posting_hours",
        config={"start": "11:00", "end": "20:00", "timezone": "America/Toronto"},
        **common,
    )
    text = "Informant tip: promo code at https://shop.example, call 416-555-0199"
    ingest(north_account, post(north_account, "100", text))
    flags = {flag.rule.name: flag for flag in flags_of("100")}
    assert sorted(flags) == ["Hours", "Links", "Operational details", "Phones", "Promo"]
    assert flags["Hours"].spans == []
    assert flags["Hours"].excerpt == text
    assert text[slice(*flags["Phones"].spans[0])] == "416-555-0199"


def test_ingest_query_budget_does_not_grow_with_messages(north_account, django_assert_num_queries):
    keyword_rule()
    current_engine()  # built once per process after a rule change; not part of the per-batch cost

    def batch(prefix, size):
        result = messages_upsert(
            account_id=north_account.pk,
            messages=[post(north_account, f"{prefix}{n}", f"informant number {n}") for n in range(size)],
        )
        return result.new_ids

    for prefix, size in (("a", 1), ("b", 50)):
        ids = batch(prefix, size)
        # The engine's freshness check, the messages, their existing flags, one insert.
        with django_assert_num_queries(4):
            policies_on_ingest(ids)
    assert PolicyFlag.objects.count() == 51


def test_without_enabled_rules_ingest_costs_one_query(north_account, django_assert_num_queries):
    rule = keyword_rule()
    rule_set_enabled(rule=rule, is_enabled=False, actor=None)
    result = messages_upsert(account_id=north_account.pk, messages=[post(north_account, "100", "informant")])
    with django_assert_num_queries(2):  # the freshness check; the rebuild reads the (no) enabled rules
        policies_on_ingest(result.new_ids)
    with django_assert_num_queries(1):
        policies_on_ingest(result.new_ids)
    assert PolicyFlag.objects.count() == 0


def test_engine_is_cached_and_rebuilt_when_a_rule_changes(north_account):
    rule = keyword_rule()
    first = current_engine()
    assert current_engine() is first
    rule_update(
        rule=rule, actor=None, name=rule.name, explanation=rule.explanation, kind="keywords",
        config={"terms": ["wiretap"]}, severity="warning", is_enabled=True, direction="outbound", platforms=[],
        unit=None,
    )  # fmt: skip
    assert current_engine() is not first
    ingest(north_account, post(north_account, "100", "informant and wiretap"))
    assert [north_account_text(flag) for flag in flags_of("100")] == [["wiretap"]]


def north_account_text(flag):
    return [flag.message.text[start:end] for start, end in flag.spans]


# --- rescans -----------------------------------------------------------------------------------------------


@pytest.fixture
def history(north_account, south_account):
    """Seven North posts (three mention an informant) and two South posts, before any rule existed."""
    texts = ["informant", "hello", "the informant", "road closed", "informant again", "bye", "thanks"]
    messages_upsert(
        account_id=north_account.pk,
        messages=[post(north_account, f"n{n}", text, minutes=n) for n, text in enumerate(texts)],
    )
    messages_upsert(
        account_id=south_account.pk,
        messages=[post(south_account, f"s{n}", "informant", minutes=n) for n in range(2)],
    )


def test_rescan_request_queues_the_job_after_commit(org, history, admin_user, django_capture_on_commit_callbacks):
    rule = keyword_rule(unit=org["north"])
    with django_capture_on_commit_callbacks() as callbacks:
        job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=admin_user)
    assert (job.status, job.requested_by, job.percent) == ("queued", admin_user, 0)
    assert len(callbacks) == 1


def test_rescan_progresses_in_batches_and_resumes(org, history):
    rule = keyword_rule(unit=org["north"])
    job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    assert rescan_run(job_id=job.pk, batch_size=3, max_batches=1) is False
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.flags_created) == ("running", 7, 3, 2)  # North only
    assert job.percent == 42
    assert rescan_run(job_id=job.pk, batch_size=3, max_batches=1) is False  # resumes after the first batch
    assert rescan_run(job_id=job.pk, batch_size=3) is True
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.flags_created, job.percent) == ("done", 7, 7, 3, 100)
    assert job.finished_at is not None
    assert sorted(PolicyFlag.objects.values_list("message__external_id", flat=True)) == ["n0", "n2", "n4"]
    assert rescan_run(job_id=job.pk) is True  # a finished job is left alone


def test_rescanning_again_creates_no_duplicates(org, history):
    rule = keyword_rule(unit=org["north"])
    for _ in range(2):
        job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
        rescan_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.processed, job.flags_created) == (7, 0)
    assert PolicyFlag.objects.count() == 3


def test_rescan_respects_the_period(org, history):
    rule = keyword_rule(unit=org["north"])
    job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(minutes=3), actor=None)
    rescan_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.total, job.processed, job.flags_created) == (3, 3, 2)


def test_rescan_with_every_rule(history):
    keyword_rule()
    job = rescan_request(rule=None, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    rescan_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.total, job.flags_created) == ("done", 9, 5)


def test_rescan_of_a_rule_disabled_meanwhile_fails_with_a_reason(history):
    rule = keyword_rule()
    job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    rule_set_enabled(rule=rule, is_enabled=False, actor=None)
    assert rescan_run(job_id=job.pk) is True
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "The rule was disabled before the rescan finished.")


def test_rescan_request_refusals(history):
    rule = keyword_rule()
    with pytest.raises(ValidationError, match="start before it ends"):
        rescan_request(rule=rule, since=T0, until=T0, actor=None)
    governance = rule_create(
        actor=None, name="Left", explanation="Holder left.", kind="governance", config={"check": "holder_left"}
    )
    with pytest.raises(ValidationError, match="no history to rescan"):
        rescan_request(rule=governance, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    rule_set_enabled(rule=rule, is_enabled=False, actor=None)
    with pytest.raises(ValidationError, match="Enable the rule"):
        rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    assert RescanJob.objects.count() == 0


def test_rescan_task_queues_the_next_slice_until_done(history, monkeypatch):
    rule = keyword_rule()
    job = rescan_request(rule=rule, since=T0, until=T0 + datetime.timedelta(days=1), actor=None)
    queued: list[int] = []
    monkeypatch.setattr(rescan_history, "delay", queued.append)
    monkeypatch.setattr("policies.tasks.rescan_run", lambda job_id: len(queued) > 0)
    rescan_history.run(job.pk)
    rescan_history.run(job.pk)
    assert queued == [job.pk]


def test_missing_job_is_logged_not_raised(caplog):
    assert rescan_run(job_id=987654) is True
    assert "rescan job 987654 not found" in caplog.text


def test_rule_is_required_to_be_valid(north_account):
    with pytest.raises(ValidationError) as refused:
        rule_create(actor=None, name="Bad", explanation="x", kind="regex", config={"pattern": r"(a)\1"})
    assert refused.value.message_dict["config"][0].startswith("pattern: The linear-time regex engine (RE2)")
    assert PolicyRule.objects.count() == 0


# --- rule services -----------------------------------------------------------------------------------------


def test_rule_writes_are_audited_and_idempotent(org, admin_user):
    rule = keyword_rule(unit=org["north"])
    fields: dict[str, Any] = {
        "name": rule.name, "explanation": rule.explanation, "kind": "keywords", "severity": "warning",
        "config": {"terms": [" informant ", "search   warrant", "INFORMANT"]}, "is_enabled": True,
        "direction": "outbound", "platforms": [], "unit": org["north"],
    }  # fmt: skip
    rule_update(rule=rule, actor=admin_user, **fields)
    assert rule.config == {"terms": ["informant", "search warrant"], "exceptions": []}  # trimmed, deduplicated
    stamp = rule.updated_at
    rule_update(rule=rule, actor=admin_user, **fields)  # the same settings again
    assert rule.updated_at == stamp
    rule_set_enabled(rule=rule, is_enabled=False, actor=admin_user)
    rule_set_enabled(rule=rule, is_enabled=False, actor=admin_user)
    rule_delete(rule=rule, actor=admin_user)
    verbs = list(AuditEvent.objects.order_by("created_at", "pk").values_list("verb", "actor_name", "unit"))
    assert verbs == [
        ("policy_rule.create", "", org["north"].pk),
        ("policy_rule.update", "service-admin", org["north"].pk),
        ("policy_rule.disable", "service-admin", org["north"].pk),
        ("policy_rule.delete", "service-admin", org["north"].pk),
    ]
    assert PolicyRule.objects.count() == 0


def test_rule_fields_are_validated_together(org):
    with pytest.raises(ValidationError) as refused:
        rule_create(
            actor=None, name=" ", explanation="", kind="posting_hours", severity="urgent", platforms=["myspace"],
            config={"start": "7am", "end": "22:00", "timezone": "Mars/Olympus"},
        )  # fmt: skip
    assert refused.value.message_dict == {
        "name": ["A rule needs a name."],
        "explanation": ["Explain the rule in plain language: members see this."],
        "severity": ["“urgent” is not one of info, warning, critical."],
        "platforms": ["A list among x, facebook, instagram, bluesky, mastodon (empty: every platform)."],
        "config": [
            "start: “7am” is not a time of day as HH:MM (24-hour clock).",
            "timezone: “Mars/Olympus” is not a time zone name (e.g. America/Toronto).",
        ],
    }
    keyword_rule()
    with pytest.raises(ValidationError, match="already exists"):
        keyword_rule()


LOOKBEHIND = (
    "pattern: The linear-time regex engine (RE2) cannot compile this pattern: invalid perl operator: (?<=. "
    "Look-ahead and look-behind assertions are not supported."
)


@pytest.mark.parametrize(
    ("kind", "config", "errors"),
    [
        ("keywords", {"terms": []}, ["terms: give at least one word or phrase."]),
        ("keywords", {"terms": ["a"], "exceptions": "b"}, ["exceptions: must be a list of words or phrases."]),
        (
            "keywords",
            {"terms": ["a"], "pattern": "b"},
            ["pattern: not a field of keywords rules (expected exceptions, terms)."],
        ),
        ("regex", {}, ["pattern: required for regex rules."]),
        (
            "link_domains",
            {"allowed": ["police.example", "not a domain"]},
            ["allowed: “not a domain” is not a domain name (e.g. police.example)."],
        ),
        (
            "posting_hours",
            {"start": "07:00", "end": "07:00", "timezone": "UTC"},
            ["end: must differ from start (the permitted window would be empty or the whole day)."],
        ),
        (
            "detector",
            {"detector": "email", "pattern": "x"},
            ["pattern: not an option of the email detector (its options: allowed)."],
        ),
        ("detector", {"detector": "case_number", "pattern": r"(?<=#)\d+"}, [LOOKBEHIND]),
        (
            "sentiment",
            {},
            ["kind: “sentiment” is not one of keywords, regex, detector, link_domains, posting_hours, governance."],
        ),
    ],
)
def test_rule_validate_messages(kind, config, errors):
    assert rule_validate(kind, config) == errors
