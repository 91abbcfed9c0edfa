from django.urls import URLPattern, URLResolver, path

from policies.views import review, rules

app_name = "policies"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", review.queue, name="queue"),
    path("export.csv", review.export_csv, name="export"),
    path("flags/<int:pk>/", review.flag_detail, name="flag"),
    path("flags/<int:pk>/acknowledge/", review.flag_action, {"action": "acknowledge"}, name="flag-acknowledge"),
    path("flags/<int:pk>/resolve/", review.flag_action, {"action": "resolve"}, name="flag-resolve"),
    path(
        "flags/<int:pk>/false-positive/", review.flag_action, {"action": "false-positive"}, name="flag-false-positive"
    ),
    path("flags/<int:pk>/reopen/", review.flag_action, {"action": "reopen"}, name="flag-reopen"),
    path("flags/<int:pk>/coaching/", review.flag_coach, name="flag-coach"),
    path("rules/", rules.rule_list, name="rules"),
    path("rules/new/", rules.rule_new, name="rule-new"),
    path("rules/<int:pk>/", rules.rule_detail, name="rule"),
    path("rules/<int:pk>/toggle/", rules.rule_toggle, name="rule-toggle"),
    path("rules/<int:pk>/delete/", rules.rule_delete, name="rule-delete"),
    path("rules/<int:pk>/rescan/", rules.rule_rescan, name="rule-rescan"),
    path("rules/<int:pk>/rescans/<int:job_pk>/", rules.rescan_progress, name="rescan"),
]
