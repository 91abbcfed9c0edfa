"""The access matrix (docs/security.md §1, §2): every route → who gets which status, as data.

A row gives, per method, the expected statuses in column order. For a route with an object (`kind`):

    anonymous | member in out | supervisor_a in out | supervisor_b in out | comms_manager in out
              | unit_admin in out | admin in out

"in" is an object inside the role's subtree (North's for everyone but supervisor_b, whose unit is South),
"out" one outside it. The service admin covers everything: its "out" column is South's object (inside
for it) — except for API tokens, where "out" is somebody else's token. Routes without an object have one
column per role: anonymous | member | supervisor_a | supervisor_b | comms_manager | unit_admin | admin.
A single status stands for every column. `|` is only for reading.

GET and POST are sent as a plain request and as an htmx request (`HX-Request: true`); HX_GET/HX_POST
give the htmx statuses where they differ (an action answers htmx with its fragment, a browser with a
redirect). API rows (`api=True`) are sent with the role's token instead of a session.

House convention, held by every row below:
- anonymous → 302 to the login page (the test checks the Location); the API → 401.
- outsider → 404 on detail, fragment, action and export, whatever the method (no existence oracle).
- inside but read-only (member, supervisors, comms manager where they may only read) → 403 on writes.
- a method the route does not take → 405 (even before login: the method is refused before anything).

Decisions where the convention alone did not say (recorded here, tested in test_access_matrix.py):
- Role-gated pages (the rule pages are for admins; onboarding/import for unit admins; the health page,
  the leaderboard and the registry export for supervisors and up) answer 403 to a signed-in user without
  the role, for ANY id, before looking anything up — so the 403 says nothing about other units' objects.
  An admin of another unit gets the 404 of an outsider.
- A member (an officer with a login) sees their own accounts' inbox and handles, reopens and annotates
  its items, but does not dismiss, assign or re-categorize them (403: accounts_registry.capabilities);
  sees their own member page and metrics, but no unit page (404: units are for supervisors and up) and
  gives no feedback (403).
- Webhooks are public by design (CSRF-exempt, signature-checked): unsigned POST → 403 for everyone;
  GET without a valid CRC token / verification challenge → 400 / 403.
- The API is read-only: a signed-in token POSTing gets 405.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Row:
    kind: str | None  # the object the URL names (see matrix_runner.KWARGS), None for no object
    GET: str
    POST: str
    HX_GET: str | None = None
    HX_POST: str | None = None
    api: bool = False
    public: bool = False  # anonymous redirects elsewhere than the login page are fine (login, logout, home)
    expect_location: str = ""  # pattern rows: where every role is sent


def expected_statuses(row: Row, columns: int) -> dict[str, list[int]]:
    """method → one expected status per column."""

    def parse(spec: str) -> list[int]:
        statuses = [int(token) for token in spec.replace("|", " ").split()]
        if len(statuses) == 1:
            statuses *= columns
        assert len(statuses) == columns, f"{spec!r}: expected {columns} statuses"
        return statuses

    methods = {"GET": row.GET, "POST": row.POST}
    if not row.api:
        methods |= {"HX-GET": row.HX_GET or row.GET, "HX-POST": row.HX_POST or row.POST}
    return {method: parse(spec) for method, spec in methods.items()}


R = Row
MATRIX: dict[str, Row] = {
    # --- Project pages -------------------------------------------------------------------------------
    # Each role's home (the overview; a member's own page); anonymous users are sent to the login.
    "home": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "healthz": R(None, GET="200", POST="405", public=True),
    # --- Sign-in (django-allauth): public pages, the signed-in user's own settings --------------------
    # Sign-up is closed: the page says so (200) and creates nobody. Reauthentication pages answer 403
    # unless a sensitive action asked for them. Recovery codes and deactivation are 404 until the user
    # has an authenticator. The e-mailed links with a key nobody was sent show an "invalid link" page.
    "account_login": R(None, GET="200 | 302 302 302 302 302 302", POST="200 | 302 302 302 302 302 302", public=True),
    "account_logout": R(None, GET="302 | 200 200 200 200 200 200", POST="302", public=True),
    "account_inactive": R(None, GET="200", POST="405", public=True),
    "account_signup": R(None, GET="200 | 302 302 302 302 302 302", POST="200 | 302 302 302 302 302 302", public=True),
    "account_reauthenticate": R(None, GET="302 | 403 403 403 403 403 403", POST="302 | 403 403 403 403 403 403"),
    "account_email": R(None, GET="302 | 200 200 200 200 200 200", POST="302"),
    "account_email_verification_sent": R(None, GET="200", POST="405", public=True),
    "account_change_password": R(None, GET="302", POST="302"),
    "account_set_password": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    "account_reset_password": R(None, GET="200", POST="200", public=True),
    "account_reset_password_done": R(None, GET="200", POST="405", public=True),
    "account_reset_password_from_key": R("reset-key", GET="200", POST="200", public=True),
    "account_reset_password_from_key_done": R(None, GET="200", POST="405", public=True),
    "account_confirm_login_code": R(None, GET="302", POST="302"),
    "account_confirm_email": R("email-key", GET="200", POST="404", public=True),
    "mfa_index": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 405 405 405 405 405 405"),
    "mfa_authenticate": R(None, GET="302", POST="302"),
    "mfa_reauthenticate": R(None, GET="302 | 403 403 403 403 403 403", POST="302 | 403 403 403 403 403 403"),
    "mfa_activate_totp": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    "mfa_deactivate_totp": R(None, GET="302 | 404 404 404 404 404 404", POST="302 | 404 404 404 404 404 404"),
    "mfa_view_recovery_codes": R(None, GET="302 | 404 404 404 404 404 404", POST="302 | 405 405 405 405 405 405"),
    "mfa_generate_recovery_codes": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    "mfa_download_recovery_codes": R(None, GET="302 | 404 404 404 404 404 404", POST="302 | 404 404 404 404 404 404"),
    # Single sign-on (allauth's socialaccount, accounts_registry/sso.py), off by default as here: the
    # provider's start and callback are 404 for everyone. The error and cancelled pages say so publicly;
    # sign-up is closed; the connections page lists none (nothing is ever connected).
    "openid_connect_login": R("sso-provider", GET="404", POST="404", public=True),
    "openid_connect_callback": R("sso-provider", GET="404", POST="404", public=True),
    "socialaccount_login_cancelled": R(None, GET="200", POST="405", public=True),
    "socialaccount_login_error": R(None, GET="401", POST="405", public=True),
    "socialaccount_signup": R(None, GET="302", POST="302", public=True),
    "socialaccount_connections": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    # --- Registry ------------------------------------------------------------------------------------
    "registry:tree": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "registry:security": R(None, GET="302 | 403 403 403 403 200 200", POST="405"),
    "registry:audit": R(None, GET="302 | 403 403 403 403 200 200", POST="405"),
    "registry:audit-export": R(None, GET="302 | 403 403 403 403 200 200", POST="405"),
    "registry:governance": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "registry:onboard": R(None, GET="302 | 403 403 403 403 200 200", POST="302 | 403 403 403 403 200 200"),
    "registry:import": R(None, GET="302 | 403 403 403 403 200 200", POST="302 | 403 403 403 403 200 200"),
    "registry:export": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "registry:unit": R("unit", GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    "registry:unit-children": R(
        "unit",  # a fragment: a browser asking for it is sent to the unit page
        GET="302 | 404 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 302",
        HX_GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        POST="405",
    ),
    "registry:unit-edit": R(
        "unit",
        GET="302 | 404 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
        POST="302 | 404 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
    ),
    "registry:member": R("member", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    # People (accounts_registry.capabilities: people.admin, role.admin, account.admin are the admins').
    "registry:member-new": R(None, GET="302 | 403 403 403 403 200 200", POST="302 | 403 403 403 403 200 200"),
    "registry:courses": R(None, GET="302 | 403 403 403 403 200 200", POST="302 | 403 403 403 403 200 200"),
    **{
        f"registry:{name}": R(
            "member",
            GET="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
            POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",  # an empty form: 200
        )
        for name in ("member-edit", "member-transfer", "member-departure")
    },
    **{
        f"registry:{name}": R(
            "member", GET="405", POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 302 404 | 302 302"
        )
        for name in ("member-training", "member-invite", "member-deactivate", "member-roles")
    },
    "registry:account-holder": R(
        "account",
        GET="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
        POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
    ),
    "registry:account": R("account", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    "registry:account-status": R(
        "account",
        GET="405",
        POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 302 404 | 302 302",
        HX_POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
    ),
    "registry:account-credentials": R(
        "account",
        GET="405",
        POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 302 404 | 302 302",
        HX_POST="302 | 403 404 | 403 404 | 403 404 | 403 404 | 200 404 | 200 200",
    ),
    # --- Monitoring ----------------------------------------------------------------------------------
    "monitoring:health": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "monitoring:health-export": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "monitoring:dormant": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "monitoring:dormant-export": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    # The "first poll in progress" notice every page loads: a count over the user's own accounts.
    "monitoring:first-poll": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "monitoring:account-messages": R(
        "account", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    "monitoring:account-skipped": R(
        "account", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    # --- Inbox ---------------------------------------------------------------------------------------
    "inbox:index": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "inbox:new": R(None, GET="302", HX_GET="302 | 200 200 200 200 200 200", POST="405"),  # fragment
    "inbox:export": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "inbox:bulk": R(None, GET="405", POST="302", HX_POST="302 | 200 200 200 200 200 200"),
    # "All N matching": nothing posted is an invalid action (the error, as for bulk); scope in test_inbox_bulk.
    "inbox:bulk-matching": R(None, GET="405", POST="302", HX_POST="302 | 200 200 200 200 200 200"),
    "inbox:item": R("item", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    "inbox:presence": R("item", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    **{
        f"inbox:{action}": R(
            "item",
            GET="405",
            POST="302 | 302 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 302",
            HX_POST="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        )
        for action in ("handle", "reopen", "note")
    },
    # The capabilities table: a member handles their own items but does not dismiss, assign or re-categorize.
    **{
        f"inbox:{action}": R(
            "item",
            GET="405",
            POST="302 | 403 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 302",
            HX_POST="302 | 403 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        )
        for action in ("assign", "dismiss", "categorize")
    },
    # --- Insights ------------------------------------------------------------------------------------
    # --- Overview (each role's home, the tree's branches, the unit and account activity sections) --------
    "overview:children": R(
        "unit",  # a fragment: a browser asking for it is sent to the unit's activity page
        GET="302 | 404 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 302",
        HX_GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        POST="405",
    ),
    "overview:unit": R("unit", GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    # The printable unit report: the unit page's scope (units are for supervisors and up).
    "overview:report": R("unit", GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    "overview:rollup-export": R(
        "unit", GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    "overview:account": R("account", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    "insights:leaderboard": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "insights:leaderboard-export": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "insights:unit-metrics": R(
        "unit", GET="302 | 404 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    "insights:account-metrics": R(
        "account", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    "insights:message-feedback": R(
        "post",
        GET="302 | 403 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        POST="302 | 403 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
    ),
    "insights:member-feedback": R(
        "member", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"
    ),
    # --- Policies ------------------------------------------------------------------------------------
    "policies:queue": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "policies:export": R(None, GET="302 | 200 200 200 200 200 200", POST="405"),
    "policies:flag": R("flag", GET="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    **{
        f"policies:flag-{action}": R(
            "flag",
            GET="405",
            POST="302 | 403 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 302",
            HX_POST="302 | 403 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200",
        )
        for action in ("acknowledge", "resolve", "false-positive", "reopen", "coach")
    },
    "policies:rules": R(None, GET="302 | 403 403 403 403 200 200", POST="405"),
    "policies:rule-new": R(None, GET="302 | 403 403 403 403 200 200", POST="302 | 403 403 403 403 200 200"),
    "policies:rule": R(
        "rule",
        GET="302 | 403 403 | 403 403 | 403 403 | 403 403 | 200 404 | 200 200",
        POST="302 | 403 403 | 403 403 | 403 403 | 403 403 | 200 404 | 200 200",
    ),
    "policies:rule-delete": R(
        "rule",
        GET="302 | 403 403 | 403 403 | 403 403 | 403 403 | 200 404 | 200 200",
        POST="302 | 403 403 | 403 403 | 403 403 | 403 403 | 302 404 | 302 302",
    ),
    **{
        f"policies:rule-{action}": R(
            "rule",
            GET="405",
            POST="302 | 403 403 | 403 403 | 403 403 | 403 403 | 302 404 | 302 302",
            HX_POST="302 | 403 403 | 403 403 | 403 403 | 403 403 | 200 404 | 200 200",
        )
        for action in ("toggle", "rescan")
    },
    "policies:rescan": R(
        "rescan",  # progress fragment; a browser is sent to the rule page
        GET="302 | 403 403 | 403 403 | 403 403 | 403 403 | 302 404 | 302 302",
        HX_GET="302 | 403 403 | 403 403 | 403 403 | 403 403 | 200 404 | 200 200",
        POST="405",
    ),
    # --- Alerts and reports --------------------------------------------------------------------------
    # Everyone chooses their own alerts (an empty POST re-renders the form). Reports are for supervisors
    # and up (403 for a member, for any unit); a unit outside the subtree is a 404.
    "alerts:preferences": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    "alerts:reports": R(None, GET="302 | 403 200 200 200 200 200", POST="405"),
    "alerts:report": R("unit", GET="302 | 403 403 | 200 404 | 200 404 | 200 404 | 200 404 | 200 200", POST="405"),
    # --- API (token auth) ----------------------------------------------------------------------------
    **{
        name: R(None, GET="401 | 200 200 200 200 200 200", POST="401 | 405 405 405 405 405 405", api=True)
        for name in ("api-policy-flags", "api:triage-items", "api:accounts", "api:units", "api:metrics")
    },
    "api:schema": R(None, GET="200", POST="405", api=True, public=True),  # holds no data
    # --- API tokens (a user's own) -------------------------------------------------------------------
    "tokens:list": R(None, GET="302 | 200 200 200 200 200 200", POST="302 | 200 200 200 200 200 200"),
    "tokens:revoke": R(
        "token",
        GET="405",
        POST="302 | 302 404 | 302 404 | 302 404 | 302 404 | 302 404 | 302 404",
        HX_POST="302 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404 | 200 404",
    ),
    # --- Webhooks (public, signature-checked) --------------------------------------------------------
    "webhooks:x": R(None, GET="400", POST="403", public=True),
    "webhooks:meta": R(None, GET="403", POST="403", public=True),
}

# The admin's own sign-in pages (the rest of the admin is a pattern row below).
MATRIX |= {
    # Behind the project's sign-in (and second factor): anonymous → the sign-in page; signed in but not
    # staff → 403.
    "admin:login": R(None, GET="302 | 403 403 403 403 403 403", POST="302 | 403 403 403 403 403 403"),
    "admin:logout": R(None, GET="302", POST="302", public=True),  # non-staff: sent to the admin login
    # django-treebeard's translation catalogue for the unit admin: static strings, no data.
    "admin:javascript-catalog": R(None, GET="200", POST="405", public=True),
}

# Third-party groups, by URL pattern (fnmatch): every matrix role (none is staff) is sent to a login.
PATTERN_ROWS: dict[str, Row] = {
    "admin/*": R(None, GET="302", POST="302", expect_location="login"),
    # allauth's old single sign-on addresses: permanent redirects to the current ones.
    "accounts/social/*": R(None, GET="301", POST="301", expect_location="/accounts/3rdparty/"),
}
