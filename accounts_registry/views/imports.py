"""CSV import (upload → preview → confirm) and the scoped CSV export of the registry.

The preview is a dry run of the real import. Confirming posts the same text back; it is untrusted
and goes through the whole import again, inside one transaction, confined to the admin's subtrees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts_registry.forms.imports import ImportConfirmForm, ImportUploadForm
from accounts_registry.selectors import require_unit_reader, user_can_administer, user_scope, visible_accounts
from accounts_registry.services.csv_io import REGISTRY_COLUMNS, ImportReport, registry_export, registry_import
from accounts_registry.services.security import export_record
from accounts_registry.signin import client_ip
from common.htmx import acting_user

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

TEMPLATE = "accounts_registry/import.html"


def _writable_paths(user: User) -> list[str] | None:
    """The subtrees the user administers, as tree paths (OrgUnit.path); None for a superuser (anywhere)."""
    scope = user_scope(user)
    if scope.is_everything:
        return None
    return list(scope.write_paths)


def _render(
    request: HttpRequest,
    *,
    upload_form: ImportUploadForm | None = None,
    report: ImportReport | None = None,
    confirm_form: ImportConfirmForm | None = None,
    upload_error: str = "",
) -> HttpResponse:
    context: dict[str, Any] = {
        "upload_form": upload_form or ImportUploadForm(),
        "report": report,
        "confirm_form": confirm_form,
        "upload_error": upload_error,
        "columns": REGISTRY_COLUMNS,
    }
    return render(request, TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    if not user_can_administer(request.user):
        raise PermissionDenied("Only an admin of a unit may import accounts.")
    if request.method == "GET":
        return _render(request)

    user = acting_user(request)
    if request.POST.get("step") == "confirm":
        confirm_form = ImportConfirmForm(request.POST)
        if not confirm_form.is_valid():
            return _render(request, upload_error="The file to import was lost or is too large; upload it again.")
        text = confirm_form.cleaned_data["csv_text"]
        report = registry_import(source=text, actor=user, dry_run=False, allowed_unit_paths=_writable_paths(user))
        if report.errors:
            # The registry changed since the preview (or the text was tampered with): show why.
            return _render(request, report=report)
        messages.success(
            request,
            f"Imported {report.rows_read} row(s): {report.accounts_created} account(s) created, "
            f"{report.accounts_unchanged} unchanged, {report.members_created} member(s) and "
            f"{len(report.units_created)} unit(s) created, {report.trainings_recorded} training(s) recorded.",
        )
        return redirect("registry:import")

    upload_form = ImportUploadForm(request.POST, request.FILES)
    if not upload_form.is_valid():
        return _render(request, upload_form=upload_form)
    text = upload_form.cleaned_data["file"]
    report = registry_import(source=text, actor=user, dry_run=True, allowed_unit_paths=_writable_paths(user))
    if report.is_valid and report.has_changes:
        return _render(request, report=report, confirm_form=ImportConfirmForm(initial={"csv_text": text}))
    return _render(request, report=report)


@require_GET
@login_required
def export_csv(request: HttpRequest) -> HttpResponse:
    """The accounts the user may see, as CSV; the same columns the import reads."""
    require_unit_reader(request.user)
    export_record(
        actor=request.user,
        ip=client_ip(request),
        export="registry",
        label="Registry CSV",
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="chorus-registry-{timezone.localdate():%Y-%m-%d}.csv"'
    response["Cache-Control"] = "no-store"
    # A byte order mark, so spreadsheets open the file as UTF-8 (the importer skips it).
    response.write("\ufeff")
    registry_export(accounts_queryset=visible_accounts(request.user), out=response)
    return response
