"""Placeholder: implemented with its feature."""

from django.http import Http404


def account_detail(request, pk=None):  # noqa
    raise Http404


def account_status(request, pk=None):  # noqa
    raise Http404


def account_credentials(request, pk=None):  # noqa
    raise Http404

