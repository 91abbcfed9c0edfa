from django.urls import URLPattern, URLResolver, path

from engagement.views import insights

app_name = "insights"
urlpatterns: list[URLPattern | URLResolver] = [
    path("leaderboard/", insights.leaderboard, name="leaderboard"),
    path("leaderboard/export.csv", insights.leaderboard_export, name="leaderboard-export"),
    path("units/<int:pk>/metrics/", insights.unit_metrics, name="unit-metrics"),
    path("accounts/<int:pk>/metrics/", insights.account_metrics, name="account-metrics"),
    path("messages/<int:pk>/feedback/", insights.message_feedback_give, name="message-feedback"),
    path("members/<int:pk>/feedback/", insights.member_feedback_list, name="member-feedback"),
]
