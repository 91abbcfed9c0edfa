from typing import Any

from django import forms

def movenodeform_factory(
    model: type[Any], form: type[forms.ModelForm[Any]] = ..., **kwargs: Any
) -> type[forms.ModelForm[Any]]: ...
