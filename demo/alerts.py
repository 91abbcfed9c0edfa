"""The demo's alerts: each demo login's preferences, and the alerts and reports of the seeded state.

The demo's mail goes to files under var/outbox/ (`make demo` sets Django's file-based email backend), one
file per email, so a newcomer opens them with any text editor. Raising is deduplicated: starting the demo
again adds only what changed since.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from alerts.models import AlertKind, Timing
from alerts.services.preferences import alert_preferences_set
from alerts.services.reports import monthly_reports_send, weekly_digests_send
from alerts.services.triggers import alerts_sweep

# Who chose what (everyone else, and every other kind: immediately).
DEMO_PREFERENCES: dict[str, dict[str, str]] = {
    "admin": {AlertKind.TRAINING: Timing.DAILY},
    "comms": {AlertKind.ACCOUNT_PROBLEM: Timing.DAILY, AlertKind.TRAINING: Timing.OFF},
    "super52": {AlertKind.TRAINING: Timing.DAILY},
    "supertraffic": {AlertKind.CRITICAL_FLAG: Timing.IMMEDIATELY},
    "officer": {AlertKind.TRAINING: Timing.IMMEDIATELY},
}


def demo_alert_preferences() -> int:
    """Set the demo logins' preferences (idempotent); returns how many changed."""
    users = get_user_model().objects.in_bulk(list(DEMO_PREFERENCES), field_name="username")
    return sum(
        len(alert_preferences_set(user=users[username], timings=timings))
        for username, timings in DEMO_PREFERENCES.items()
        if username in users
    )


def demo_alerts() -> int:
    """Alert the seeded state (accounts needing reconnection, training expiring, critical flags) and send
    last week's digests and last month's reports; returns the new deliveries."""
    return alerts_sweep() + weekly_digests_send() + monthly_reports_send()
