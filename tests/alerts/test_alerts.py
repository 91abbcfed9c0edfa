"""Each kind of alert: who gets it (role grants over the tree), once per event and person, as chosen."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts_registry.models import AuditEvent, SocialAccount
from alerts.models import AlertDelivery, AlertKind, AlertPreference, Timing
from alerts.services.deliveries import alert_deliveries_send, daily_summaries_send
from alerts.services.preferences import alert_preferences_set
from alerts.services.triggers import alerts_on_ingest, alerts_sweep
from engagement.models import TriageItem
from monitoring.connectors.base import NormalizedMessage
from monitoring.daily_sums import versions_renew
from monitoring.models import PollState
from monitoring.services.ingest import messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from tests.factories import FROZEN_NOW, HOSTILE, TrainingFactory, make_rule

pytestmark = pytest.mark.django_db

EMERGENCY_TEXT = "@TPS11Alex there's a man with a knife at Queen and Spadina right now"


def inbound(account, text, external_id):
    """What a poll does: upsert the mention, then every ingest hook (triage, policies, alerts)."""
    message = NormalizedMessage(
        platform=account.platform, external_id=external_id, direction="inbound", kind="mention",
        author_id="900", author_handle="dana_k", author_name="Dana K", text=text,
        created_at=FROZEN_NOW, conversation_id=external_id, in_reply_to_id="",
    )  # fmt: skip
    result = messages_upsert(account_id=account.pk, messages=[message])
    run_ingest_hooks(result.new_ids)
    return result.new_ids


def sent_to():
    return sorted(address for email in mail.outbox for address in email.to)


def send_pending():
    return alert_deliveries_send(
        delivery_ids=list(AlertDelivery.objects.filter(state="pending").values_list("pk", flat=True))
    )


# --- Possible emergencies ----------------------------------------------------------------------------


def test_an_emergency_alerts_the_comms_managers_covering_the_account_after_commit(
    frozen_now, north_account, north_comms, service_comms, south_comms, viewer, owner,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    with django_capture_on_commit_callbacks() as callbacks:
        inbound(north_account, EMERGENCY_TEXT, "5001")
    assert TriageItem.objects.get().category == TriageItem.Category.EMERGENCY
    # Sending is queued after the poll commits, not before (beside the daily statistics' version bump).
    assert len([callback for callback in callbacks if getattr(callback, "func", None) is not versions_renew]) == 1
    assert mail.outbox == []
    assert send_pending() == 2
    assert sent_to() == [north_comms.email, service_comms.email]  # not South's, not supervisors or admins
    email = mail.outbox[0]
    assert "possible emergency waiting on X TPS11Alex" in email.subject
    assert "knife at Queen and Spadina" in email.body
    assert "call 911" in email.body


def test_an_emergency_is_alerted_once_per_person(frozen_now, north_account, north_comms):
    ids = inbound(north_account, EMERGENCY_TEXT, "5001")
    send_pending()
    alerts_on_ingest(ids)  # the same messages again (a repeated poll, a retried task)
    alerts_sweep()
    assert AlertDelivery.objects.filter(kind=AlertKind.EMERGENCY).count() == 1
    assert send_pending() == 0
    assert len(mail.outbox) == 1


def test_an_item_corrected_to_an_emergency_is_alerted_by_the_sweep(frozen_now, north_account, north_comms):
    inbound(north_account, "@TPS11Alex my neighbour's car alarm keeps going", "5003")
    assert not AlertDelivery.objects.exists()
    TriageItem.objects.update(category=TriageItem.Category.EMERGENCY)  # a person's correction
    alerts_sweep()
    assert list(AlertDelivery.objects.values_list("kind", "user_id")) == [(AlertKind.EMERGENCY, north_comms.pk)]


def test_a_question_alerts_nobody(frozen_now, north_account, north_comms):
    inbound(north_account, "@TPS11Alex what time does the station open?", "5002")
    assert not AlertDelivery.objects.exists()


def test_sending_is_audited(frozen_now, north_account, north_comms):
    inbound(north_account, EMERGENCY_TEXT, "5001")
    send_pending()
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.ALERT_SEND)
    assert event.unit == north_account.unit
    assert event.after["to"] == f"user:{north_comms.pk}"
    assert event.after["error"] == ""


def test_comms_managers_cannot_turn_emergencies_off(frozen_now, north_account, north_comms):
    with pytest.raises(ValidationError):
        alert_preferences_set(user=north_comms, timings={AlertKind.EMERGENCY: Timing.OFF})
    # Even a preference stored behind the form's back does not silence them.
    AlertPreference.objects.create(user=north_comms, kind=AlertKind.EMERGENCY, timing=Timing.OFF)
    inbound(north_account, EMERGENCY_TEXT, "5001")
    assert send_pending() == 1


# --- Critical policy flags ---------------------------------------------------------------------------


def test_a_critical_flag_alerts_supervisors_and_comms_managers(
    frozen_now, north_account, north_comms, viewer, outsider, south_comms, owner, officer, settings
):
    settings.CHORUS_POLICY_WEBHOOK_URL = ""
    make_rule("Operational details", severity="critical", config={"terms": ["informant"], "exceptions": []})
    make_rule("Mild", severity="info", config={"terms": ["parade"], "exceptions": []})
    message = NormalizedMessage(
        platform="x", external_id="7001", direction="outbound", kind="post", author_id="1",
        author_handle="TPS11Alex", author_name="Alex", text=f"The informant and the parade {HOSTILE}",
        created_at=FROZEN_NOW, conversation_id="7001", in_reply_to_id="",
    )  # fmt: skip
    run_ingest_hooks(messages_upsert(account_id=north_account.pk, messages=[message]).new_ids)
    send_pending()
    assert sent_to() == sorted([north_comms.email, viewer.email])  # one flag (the info one alerts nobody)
    email = mail.outbox[0]
    assert "critical policy flag on X TPS11Alex" in email.subject
    assert "[Operational details] X TPS11Alex: The informant" in email.body
    assert HOSTILE.split()[0] in email.body  # plain text: kept as typed, never rendered
    assert getattr(email, "alternatives", []) == []


def test_critical_flags_post_once_to_the_webhook(frozen_now, north_account, north_comms, settings):
    settings.CHORUS_POLICY_WEBHOOK_URL = "https://hooks.example.org/services/T000/B000/XXXX"
    make_rule("Operational details", severity="critical", config={"terms": ["informant"], "exceptions": []})
    message = NormalizedMessage(
        platform="x", external_id="7001", direction="outbound", kind="post", author_id="1",
        author_handle="TPS11Alex", author_name="Alex", text="the informant", created_at=FROZEN_NOW,
        conversation_id="7001", in_reply_to_id="",
    )  # fmt: skip
    ids = messages_upsert(account_id=north_account.pk, messages=[message]).new_ids
    run_ingest_hooks(ids)
    alerts_on_ingest(ids)
    webhook = AlertDelivery.objects.get(recipient="webhook")
    assert webhook.user is None and webhook.kind == AlertKind.CRITICAL_FLAG


# --- Accounts needing reconnection or failing ---------------------------------------------------------


def test_an_account_needing_reconnection_alerts_its_holder_and_the_admins_of_its_unit(
    frozen_now, north_account, officer, owner, admin_user, viewer, outsider, north_comms
):
    north_account.status = SocialAccount.Status.NEEDS_RECONNECT
    north_account.status_reason = "The token expired."
    north_account.save()
    alerts_sweep()
    send_pending()
    assert sent_to() == sorted([officer.email, owner.email, admin_user.email])
    assert "TPS11Alex needs reconnecting" in mail.outbox[0].subject
    # Sweeping again tells nobody twice; the next incident (reconnected, broken again) is new.
    alerts_sweep()
    assert send_pending() == 0
    north_account.status_changed_at = FROZEN_NOW + datetime.timedelta(days=1)
    north_account.save()
    alerts_sweep()
    assert send_pending() == 3


@pytest.mark.parametrize(("failures", "alerted"), [(3, False), (4, True)])
def test_an_account_failing_more_than_n_polls_is_alerted(frozen_now, north_account, officer, owner, failures, alerted):
    PollState.objects.create(account=north_account, consecutive_failures=failures, last_error_kind="server")
    alerts_sweep()
    recipients = set(AlertDelivery.objects.values_list("user_id", flat=True))
    assert recipients == ({officer.pk, owner.pk} if alerted else set())


# --- Training ------------------------------------------------------------------------------------


def test_training_expiring_alerts_the_member_and_their_supervisors(
    frozen_now, north_member, officer, viewer, outsider, owner
):
    north_member.trainings.all().delete()
    today = FROZEN_NOW.date()
    expiring = TrainingFactory.create(
        member=north_member,
        completed_on=today - datetime.timedelta(days=700),
        expires_on=today + datetime.timedelta(days=10),
    )
    alerts_sweep()
    send_pending()
    assert sent_to() == sorted([officer.email, viewer.email])
    assert "expires on" in mail.outbox[0].subject
    # Once it lapses it is a new event; renewing it stops the alerts.
    expiring.expires_on = today - datetime.timedelta(days=1)
    expiring.save()
    alerts_sweep()
    assert AlertDelivery.objects.filter(event_key=f"training:{expiring.pk}:expired").count() == 2
    TrainingFactory.create(member=north_member, completed_on=today, expires_on=today + datetime.timedelta(days=700))
    AlertDelivery.objects.all().delete()
    alerts_sweep()
    assert not AlertDelivery.objects.exists()


# --- Preferences ------------------------------------------------------------------------------------


def test_the_daily_summary_gathers_alerts_into_one_email(frozen_now, north_account, officer, owner):
    alert_preferences_set(user=owner, timings={AlertKind.ACCOUNT_PROBLEM: Timing.DAILY})
    north_account.status = SocialAccount.Status.NEEDS_RECONNECT
    north_account.save()
    PollState.objects.create(account=north_account, consecutive_failures=9)
    alerts_sweep()
    send_pending()
    assert sent_to() == [officer.email]  # the owner waits for the summary
    mail.outbox.clear()
    assert daily_summaries_send() == 1
    [summary] = mail.outbox
    assert summary.to == [owner.email]
    assert "daily summary (1 alert)" in summary.subject
    assert daily_summaries_send() == 0  # sent once


def test_an_alert_turned_off_is_recorded_and_not_sent(frozen_now, north_account, officer, owner):
    alert_preferences_set(user=officer, timings={AlertKind.ACCOUNT_PROBLEM: Timing.OFF})
    north_account.status = SocialAccount.Status.NEEDS_RECONNECT
    north_account.save()
    alerts_sweep()
    send_pending()
    assert sent_to() == [owner.email]
    assert AlertDelivery.objects.get(user=officer).state == AlertDelivery.State.OFF


def test_preference_changes_are_audited_and_validated(frozen_now, officer):
    assert alert_preferences_set(user=officer, timings={AlertKind.TRAINING: Timing.DAILY}) == [AlertKind.TRAINING]
    assert alert_preferences_set(user=officer, timings={AlertKind.TRAINING: Timing.DAILY}) == []  # no change
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.ALERT_PREFERENCES)
    assert event.before == {"training": "immediately"} and event.after == {"training": "daily"}
    with pytest.raises(ValidationError):
        alert_preferences_set(user=officer, timings={"weekly_digest": Timing.OFF})  # not an alert kind


def test_members_may_turn_emergencies_off(frozen_now, officer):
    assert alert_preferences_set(user=officer, timings={AlertKind.EMERGENCY: Timing.OFF}) == [AlertKind.EMERGENCY]


# --- Cost ----------------------------------------------------------------------------------------------


def test_the_sweep_costs_the_same_for_many_accounts(frozen_now, org, owner, django_assert_max_num_queries):
    from tests.factories import SocialAccountFactory

    def broken(count):
        for _ in range(count):
            SocialAccountFactory.create(unit=org["11"], status=SocialAccount.Status.NEEDS_RECONNECT)

    broken(2)
    with django_assert_max_num_queries(16) as few:
        alerts_sweep()
    broken(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        alerts_sweep()
    assert AlertDelivery.objects.count() == 22
