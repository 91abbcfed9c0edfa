from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms

from alerts.models import Timing

if TYPE_CHECKING:
    from alerts.selectors import PreferenceRow


class PreferencesForm(forms.Form):
    """One choice per kind of alert; "off" is not offered where the user may not turn the alert off."""

    def __init__(self, *args: Any, rows: list[PreferenceRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            choices = [(value, label) for value, label in Timing.choices if row.can_turn_off or value != Timing.OFF]
            self.fields[row.kind] = forms.ChoiceField(
                label=row.label, choices=choices, initial=row.timing, widget=forms.RadioSelect
            )
