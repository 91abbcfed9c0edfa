"""Built-in detectors of personal information that must not be posted, and the RE2 helpers they share
with the engine.

Every detector is a pair: a `prefilter` (an RE2 pattern the engine runs, together with every other
pattern, in one pass of a combined `re2.Set`: a text it does not match cannot hold a finding) and a
`find` function that returns the exact spans, run only on the texts the prefilter let through. Spans are
[start, end) offsets in the original text. Patterns are RE2 (linear time: no backtracking, ever).

Options sit beside `detector` in the rule's config.
- phone_number: `phonenumbers.PhoneNumberMatcher` (leniency VALID) for the region in `region`
  (default "CA"); numbers listed in `allowed` (e.g. the service's non-emergency line) pass, and so do
  digits that are part of a longer token ("MPS-2024-000123" holds no phone number).
  Short codes such as 911 are never matched.
- email: addresses with a dotted domain and a 2-24 letter top-level domain; addresses at a domain in
  `allowed` (or its subdomains) pass. Handles ("@MetroPolice") and "user@localhost" are not emails.
- licence_plate: North American plates, written in capitals (plates are printed that way; lowercase
  "in 2024" is never a plate):
  * anywhere: the Ontario passenger format, four letters and three digits ("ABCD 123", "ABCD-123",
    "ABCD123"), and the digit-first format of California and others ("7ABC123");
  * only within 30 characters after "licence", "license", "plate(s)", "plaque(s)" or "immatriculation"
    (same sentence): the generic 2-4 letters + 3-4 digits ("ABC 123", "BC 1234"), 3 digits + 3 letters
    ("123 ABC") and the Quebec-style "A12 BCD".
  Candidates whose letters are common words or units ("CALL 911", "ROOM 101", "HWY 401" …) and those
  glued to "#", "@" or "/" (hashtags, handles, URL paths) are ignored.
- street_address: a civic number, one to three capitalised name words and a street suffix ("123 Main
  Street", "45B King St."; suffixes: St, Street, Ave, Road, Rd, Blvd, Dr, Cres, Crt, Ct, Lane, Way,
  Pl, Terr, Pkwy, Cir, Sq, Trail, Gardens…), or the French order ("1200, rue Sainte-Catherine",
  "45 boul. Saint-Laurent"). Block-level locations ("the 100 block of Main Street") are not addresses.
- date_of_birth: a date (2026-03-12, 12/03/1990, 12 March 1990, March 12, 1990, 3 mars 1990) right after
  "born", "DOB", "D.O.B.", "date of birth", "birth date", "né(e) le" or "date de naissance". A year alone
  ("born in 1990") or a date without that context is not a date of birth.
- case_number: occurrence/case numbers matching `pattern` (RE2 syntax, default `MPS-\\d{4}-\\d{6}`),
  not glued to other letters or digits.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import phonenumbers
import re2

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Span = tuple[int, int]

# Room for the combined set and larger admin patterns (RE2's default is 8 MiB per pattern).
MAX_MEMORY = 64 << 20
DEFAULT_REGION = "CA"
DEFAULT_CASE_NUMBER_PATTERN = r"MPS-\d{4}-\d{6}"


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message says why, in words an admin can act on."""


def re2_options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the admin, not to stderr
    options.max_mem = MAX_MEMORY
    return options


def pattern_compile(pattern: str) -> re2._Regexp:
    """Compile with RE2 or raise PatternError with the reason."""
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as error:
        raise PatternError(_reason(error)) from None


def _reason(error: re2.error) -> str:
    raw = error.args[0] if error.args else ""
    detail = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    hint = ""
    if "(?<" in detail or "(?=" in detail or "(?!" in detail:
        hint = " Look-ahead and look-behind assertions are not supported."
    elif "invalid escape sequence: \\" in detail and detail.rstrip()[-1:].isdigit():
        hint = " Backreferences (\\1) are not supported."
    return f"The linear-time regex engine (RE2) cannot compile this pattern: {detail}.{hint}"


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def is_bounded(text: str, start: int, end: int) -> bool:
    """True unless a word character is glued to an edge of the match that is itself a word character."""
    if start > 0 and is_word_char(text[start]) and is_word_char(text[start - 1]):
        return False
    return not (end < len(text) and is_word_char(text[end - 1]) and is_word_char(text[end]))


@dataclasses.dataclass(frozen=True)
class Detector:
    name: str
    prefilter: str
    find: Callable[[str], list[Span]]


# --- phone numbers ------------------------------------------------------------------------------------------

# Seven or more digits, possibly separated: the least any number PhoneNumberMatcher accepts looks like.
PHONE_PREFILTER = r"\p{Nd}(?:[\s().\-/\x{2010}-\x{2015}]{0,3}\p{Nd}){6,}"


def _e164(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _phone_errors(options: Mapping[str, Any]) -> list[str]:
    errors = []
    region = options.get("region", DEFAULT_REGION)
    if not isinstance(region, str) or region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        errors.append(f"region: “{region}” is not a region code phonenumbers knows (e.g. CA, US, FR).")
        region = DEFAULT_REGION
    allowed = options.get("allowed", [])
    if not isinstance(allowed, list) or not all(isinstance(number, str) for number in allowed):
        errors.append("allowed: must be a list of phone numbers.")
    else:
        errors += [
            f"allowed: “{number}” is not a valid phone number." for number in allowed if not _e164(number, region)
        ]
    return errors


def _phone(options: Mapping[str, Any]) -> Detector:
    region = str(options.get("region", DEFAULT_REGION)).upper()
    allowed = {_e164(number, region) for number in options.get("allowed", [])} - {None}

    def find(text: str) -> list[Span]:
        return [
            (match.start, match.end)
            for match in phonenumbers.PhoneNumberMatcher(text, region)
            if not _inside_token(text, match.start, match.end)
            and phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164) not in allowed
        ]

    return Detector("phone_number", PHONE_PREFILTER, find)


def _inside_token(text: str, start: int, end: int) -> bool:
    """Digits that continue a longer token ("MPS-2024-000123", "order#4165550199x") are not a phone number."""
    before = text[start - 2 : start] if start > 0 else ""
    after = text[end : end + 2]
    return (
        before[-1:].isalnum()
        or (before[-1:] in ("-", "/", "#") and before[:1].isalnum())
        or after[:1].isalnum()
        or (after[:1] in ("-", "/") and after[1:2].isalnum())
    )


# --- email addresses ----------------------------------------------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = r"[A-Za-z0-9._%+\-]+@" + _LABEL + r"(?:\." + _LABEL + r")*\.[A-Za-z]{2,24}\b"


def _domains_errors(options: Mapping[str, Any], field: str = "allowed") -> list[str]:
    allowed = options.get(field, [])
    if not isinstance(allowed, list) or not all(isinstance(domain, str) and domain.strip() for domain in allowed):
        return [f"{field}: must be a list of domain names."]
    return [f"{field}: “{domain}” is not a domain name." for domain in allowed if not is_domain(domain)]


def is_domain(domain: str) -> bool:
    labels = domain.strip().lower().rstrip(".").split(".")
    return len(labels) >= 2 and all(label and len(label) <= 63 and _is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    return all(char.isalnum() or char == "-" for char in label) and not label.startswith("-")


def domain_is_allowed(host: str, allowed: frozenset[str]) -> bool:
    """The host is one of the allowed domains or a subdomain of one."""
    host = host.lower().rstrip(".")
    while True:
        if host in allowed:
            return True
        if "." not in host:
            return False
        host = host.split(".", 1)[1]


def _email(options: Mapping[str, Any]) -> Detector:
    pattern = pattern_compile(EMAIL_PATTERN)
    allowed = frozenset(domain.strip().lower().rstrip(".") for domain in options.get("allowed", []))

    def find(text: str) -> list[Span]:
        spans = []
        for match in pattern.finditer(text):
            start, end = match.span()
            if start > 0 and (is_word_char(text[start - 1]) or text[start - 1] in ".%+-"):
                continue
            if not domain_is_allowed(match.group().rsplit("@", 1)[1], allowed):
                spans.append((start, end))
        return spans

    return Detector("email", EMAIL_PATTERN, find)


# --- licence plates -----------------------------------------------------------------------------------------

PLATE_ANYWHERE = r"\b(?:[A-Z]{4}[ -]?\d{3}|\d[A-Z]{3}\d{3})\b"
PLATE_CONTEXT = (
    r"(?i:\b(?:licen[cs]e|plates?|plaques?|immatriculation)\b)[^.!?\n]{0,30}?"
    r"\b([A-Z]{2,4}[ -]?\d{3,4}|\d{3}[ -]?[A-Z]{3}|[A-Z]\d{2}[ -]?[A-Z]{3}|\d[A-Z]{3}\d{3})\b"
)
# Letters that make a plate-shaped token something else: words, units, road names, shouted phrases.
PLATE_STOP_WORDS = frozenset(
    {
        "CALL", "DIAL", "TEXT", "ROOM", "UNIT", "CODE", "PAGE", "EXIT", "GATE", "BLDG", "YEAR", "FROM", "OVER",
        "ONLY", "THAN", "WITH", "TEAM", "WARD", "ZONE", "AREA", "LINE", "PLUS", "DAYS", "HWY", "RTE", "ISO", "EXT",
        "APT", "STE", "FLR", "KM", "KMH", "MPH", "AM", "PM", "IN", "ON", "AT", "BY", "OF", "TO", "NO", "UP", "OR",
        "AND", "THE", "FOR", "ARE", "WAS", "HAS", "BUS", "CAR", "VAN", "CH", "CP", "TTC", "STN", "DIV", "DIST",
        "SGT", "CST", "DET", "MPS", "RCMP", "OPP", "GTA", "FM", "TV",
    }
)  # fmt: skip


def _plate_ok(text: str, start: int, end: int) -> bool:
    if start > 0 and text[start - 1] in "#@/":
        return False
    letters = "".join(char for char in text[start:end] if char.isalpha())
    # "7ABC123" keeps its letters together; "ABC 123" and "123 ABC" have one letter block.
    return letters not in PLATE_STOP_WORDS


def _licence_plate(options: Mapping[str, Any]) -> Detector:
    anywhere = pattern_compile(PLATE_ANYWHERE)
    in_context = pattern_compile(PLATE_CONTEXT)

    def find(text: str) -> list[Span]:
        spans = {match.span() for match in anywhere.finditer(text)}
        spans |= {match.span(1) for match in in_context.finditer(text)}
        return sorted(span for span in spans if _plate_ok(text, *span))

    return Detector("licence_plate", f"(?:{PLATE_ANYWHERE})|(?:{PLATE_CONTEXT})", find)


# --- street addresses ---------------------------------------------------------------------------------------

_CIVIC = r"\b\d{1,5}[A-Za-z]?(?:-\d{1,5})?"
_CAPITAL = r"[A-Z\x{C0}-\x{DD}]"
_NAME_CHARS = r"[A-Za-z\x{C0}-\x{FF}'.\-]"
_NAME_WORD = r"(?:" + _CAPITAL + _NAME_CHARS + r"*|\d{1,3}(?:st|nd|rd|th))"
_SUFFIX = (
    r"(?i:street|st|avenue|ave|road|rd|boulevard|blvd|drive|dr|crescent|cres|court|crt|ct|lane|ln|way|"
    r"place|pl|terrace|terr|parkway|pkwy|circle|cir|square|sq|trail|trl|gardens|gdns)"
)
ADDRESS_EN = _CIVIC + r"\s+(?:[NSEW]\.?\s+)?(?:" + _NAME_WORD + r"\s+){1,3}" + _SUFFIX + r"\b\.?"
ADDRESS_FR = (
    _CIVIC + r",?\s+(?i:rue|avenue|av\.|boulevard|boul\.|bd|chemin|ch\.|place|rang|route|mont[ée]e|c[ôo]te|"
    r"all[ée]e|impasse|croissant|promenade)\s+(?:(?i:de|du|des|la|le|l')\s*){0,2}" + _CAPITAL + _NAME_CHARS + r"*"
)
ADDRESS_PATTERN = f"(?:{ADDRESS_EN})|(?:{ADDRESS_FR})"


# Suffixes written in full: a period after one ends the sentence, it does not abbreviate.
_FULL_SUFFIXES = frozenset(
    {
        "street", "avenue", "road", "boulevard", "drive", "crescent", "court", "lane", "way", "place", "terrace",
        "parkway", "circle", "square", "trail", "gardens",
    }
)  # fmt: skip


def _street_address(options: Mapping[str, Any]) -> Detector:
    pattern = pattern_compile(ADDRESS_PATTERN)

    def find(text: str) -> list[Span]:
        spans = []
        for match in pattern.finditer(text):
            start, end = match.span()
            if text[end - 1] == "." and text[start : end - 1].rsplit(None, 1)[-1].lower() in _FULL_SUFFIXES:
                end -= 1
            spans.append((start, end))
        return spans

    return Detector("street_address", ADDRESS_PATTERN, find)


# --- dates of birth -----------------------------------------------------------------------------------------

_BIRTH_CONTEXT = (
    r"(?i:\b(?:born(?:\s+on)?|d\.?o\.?b\.?|date\s+of\s+birth|birth\s?date|n[ée]e?\s+le|date\s+de\s+naissance))"
)
_MONTH = (
    r"(?i:jan(?:uary|vier)?|feb(?:ruary)?|f[ée]v(?:rier)?|mar(?:ch|s)?|apr(?:il)?|avr(?:il)?|may|mai|june?|juin|"
    r"july?|juil(?:let)?|aug(?:ust)?|ao[uû]t|sep(?:t(?:ember|embre)?)?|oct(?:ober|obre)?|nov(?:ember|embre)?|"
    r"d[ée]c(?:ember|embre)?)\.?"
)
_DATE = (
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})"
    r"|\d{1,2}(?:st|nd|rd|th|er)?\s+(?:of\s+)?" + _MONTH + r",?\s+\d{4}"
    r"|" + _MONTH + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})"
)
BIRTH_PATTERN = _BIRTH_CONTEXT + r"[\s:,\-]{0,4}" + _DATE + r"\b"


def _date_of_birth(options: Mapping[str, Any]) -> Detector:
    pattern = pattern_compile(BIRTH_PATTERN)

    def find(text: str) -> list[Span]:
        return [match.span() for match in pattern.finditer(text)]

    return Detector("date_of_birth", BIRTH_PATTERN, find)


# --- case / occurrence numbers ------------------------------------------------------------------------------


def _case_number_errors(options: Mapping[str, Any]) -> list[str]:
    pattern = options.get("pattern", DEFAULT_CASE_NUMBER_PATTERN)
    if not isinstance(pattern, str) or not pattern.strip():
        return ["pattern: must be a non-empty regular expression."]
    try:
        compiled = pattern_compile(pattern)
    except PatternError as error:
        return [f"pattern: {error}"]
    if compiled.search("") is not None:
        return ["pattern: matches empty text, so it would flag every post."]
    return []


def _case_number(options: Mapping[str, Any]) -> Detector:
    source = str(options.get("pattern", DEFAULT_CASE_NUMBER_PATTERN))
    pattern = pattern_compile(source)

    def find(text: str) -> list[Span]:
        return [match.span() for match in pattern.finditer(text) if is_bounded(text, *match.span())]

    return Detector("case_number", source, find)


# --- registry -----------------------------------------------------------------------------------------------


def _no_errors(options: Mapping[str, Any]) -> list[str]:
    return []


@dataclasses.dataclass(frozen=True)
class DetectorKind:
    label: str
    options: frozenset[str]
    errors: Callable[[Mapping[str, Any]], list[str]]
    build: Callable[[Mapping[str, Any]], Detector]


DETECTORS: dict[str, DetectorKind] = {
    "phone_number": DetectorKind("Phone numbers", frozenset({"region", "allowed"}), _phone_errors, _phone),
    "email": DetectorKind("Email addresses", frozenset({"allowed"}), _domains_errors, _email),
    "licence_plate": DetectorKind("Licence plates", frozenset(), _no_errors, _licence_plate),
    "street_address": DetectorKind("Street addresses", frozenset(), _no_errors, _street_address),
    "date_of_birth": DetectorKind("Dates of birth", frozenset(), _no_errors, _date_of_birth),
    "case_number": DetectorKind("Case/occurrence numbers", frozenset({"pattern"}), _case_number_errors, _case_number),
}


DETECTOR_OPTIONS = frozenset().union(*(kind.options for kind in DETECTORS.values()))


def detector_errors(name: object, options: Mapping[str, Any]) -> list[str]:
    """What is wrong with a detector and its options (empty: they are valid)."""
    if not isinstance(name, str) or name not in DETECTORS:
        return [f"detector: “{name}” is not one of {', '.join(DETECTORS)}."]
    kind = DETECTORS[name]
    unknown = sorted(set(options) - kind.options)
    if unknown:
        accepted = ", ".join(sorted(kind.options)) or "none"
        return [f"{', '.join(unknown)}: not an option of the {name} detector (its options: {accepted})."]
    return kind.errors(options)


def detector_build(name: str, options: Mapping[str, Any]) -> Detector:
    """A ready detector. The configuration must be valid (see detector_errors)."""
    return DETECTORS[name].build(options)
