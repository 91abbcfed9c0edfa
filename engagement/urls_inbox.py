from django.urls import path

from engagement.views import inbox, inbox_bulk

app_name = "inbox"

urlpatterns = [
    path("", inbox.inbox, name="index"),
    path("new/", inbox.new_items, name="new"),
    path("export.csv", inbox.export_csv, name="export"),
    path("bulk/", inbox_bulk.bulk, name="bulk"),
    path("bulk/matching/", inbox_bulk.bulk_matching, name="bulk-matching"),
    path("<int:pk>/", inbox.item_detail, name="item"),
    path("<int:pk>/presence/", inbox.item_presence, name="presence"),
    path("<int:pk>/assign/", inbox.item_assign, name="assign"),
    path("<int:pk>/handle/", inbox.item_handle, name="handle"),
    path("<int:pk>/dismiss/", inbox.item_dismiss, name="dismiss"),
    path("<int:pk>/reopen/", inbox.item_reopen, name="reopen"),
    path("<int:pk>/note/", inbox.item_note, name="note"),
    path("<int:pk>/category/", inbox.item_categorize, name="categorize"),
]
