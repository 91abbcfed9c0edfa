"""The personal-information detectors: what each one finds, and what it must leave alone."""

import pytest

from policies.detectors import DETECTORS, detector_build, detector_errors, pattern_compile


def found(name, text, **options):
    detector = detector_build(name, options)
    # The engine only runs `find` on texts the prefilter lets through: a finding must pass it.
    spans = detector.find(text)
    if spans:
        assert pattern_compile(detector.prefilter).search(text) is not None
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me at 416-555-0199 tonight", ["416-555-0199"]),
        ("(613) 555 0123 is my cell", ["(613) 555 0123"]),
        ("+1 514 555 0188", ["+1 514 555 0188"]),
        ("Mon numéro : 438.555.0177", ["438.555.0177"]),
    ],
)
def test_phone_numbers_found(text, expected):
    assert found("phone_number", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "In an emergency, call 911.",
        "Occurrence MPS-2024-000123 is closed",
        "Road closed from 2026-11-20 to 2026-11-22",
        "Crowd of 1,250,000 at the parade",
        "Order x4165550199y shipped",
        "Read more on our site",
    ],
)
def test_phone_numbers_not_found(text):
    assert found("phone_number", text) == []


def test_phone_region_and_allowed_numbers():
    assert found("phone_number", "Appelez le 01 42 68 53 00", region="FR") == ["01 42 68 53 00"]
    assert found("phone_number", "Appelez le 01 42 68 53 00") == []  # not a Canadian number
    text = "Non-emergency: 416-555-0100. Witness: 416-555-0199"
    assert found("phone_number", text, allowed=["+1 416 555 0100"]) == ["416-555-0199"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to jane.doe@gmail.com.", ["jane.doe@gmail.com"]),
        ("contact: J_Smith+tips@mail.example.co.uk", ["J_Smith+tips@mail.example.co.uk"]),
    ],
)
def test_emails_found(text, expected):
    assert found("email", text) == expected


@pytest.mark.parametrize(
    "text",
    ["Thanks @MetroPolice!", "user@localhost", "an @ sign", "price: 3@5.00", "email us at tips at police dot ca"],
)
def test_emails_not_found(text):
    assert found("email", text) == []


def test_emails_at_allowed_domains_pass():
    text = "Tips: tips@metropolice.example, media@news.metropolice.example, or jo@gmail.com"
    assert found("email", text, allowed=["metropolice.example"]) == ["jo@gmail.com"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Stolen car, Ontario plate ABCD 123, last seen downtown", ["ABCD 123"]),
        ("Silver sedan ABCD-123 fled", ["ABCD-123"]),
        ("Suspect vehicle 7ABC123", ["7ABC123"]),
        ("licence plate ABC 123", ["ABC 123"]),
        ("License plate number BC 1234.", ["BC 1234"]),
        ("Plaque d'immatriculation 123 ABC", ["123 ABC"]),
    ],
)
def test_licence_plates_found(text, expected):
    assert found("licence_plate", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "PLEASE CALL 911 NOW",
        "HWY 401 is closed eastbound",
        "Meeting in ROOM 101",
        "Trending: #ABCD123",
        "Renew your licence in 2024",
        "COVID 19 update",
        "Occurrence MPS-2024-000123",
        "abcd 123 in lower case",
        "See https://x.com/ABCD123",
    ],
)
def test_licence_plates_not_found(text):
    assert found("licence_plate", text) == []


def test_plate_needs_context_for_the_generic_format():
    assert found("licence_plate", "Saw ABC 123 drive off") == []
    assert found("licence_plate", "Saw plate ABC 123 drive off") == ["ABC 123"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She lives at 123 Main Street.", ["123 Main Street"]),
        ("Party at 45B King St. W tonight", ["45B King St."]),
        ("42 ST CLAIR AVE", ["42 ST CLAIR AVE"]),
        ("Meet at 12 5th Ave", ["12 5th Ave"]),
        ("Au 1200, rue Sainte-Catherine", ["1200, rue Sainte-Catherine"]),
        ("45 boul. Saint-Laurent", ["45 boul. Saint-Laurent"]),
        ("77 Côte-Vertu Blvd", ["77 Côte-Vertu Blvd"]),
    ],
)
def test_street_addresses_found(text, expected):
    assert found("street_address", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "A collision in the 100 block of Main Street",
        "Main Street and King Street are closed",
        "We have 5 Officers on duty",
        "Top 10 safety tips",
        "Highway 401 eastbound",
    ],
)
def test_street_addresses_not_found(text):
    assert found("street_address", text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Missing man, DOB: 1990-04-12", ["DOB: 1990-04-12"]),
        ("born 12/04/1990 in Toronto", ["born 12/04/1990"]),
        ("He was born on March 12, 1990.", ["born on March 12, 1990"]),
        ("D.O.B. 12 March 1990", ["D.O.B. 12 March 1990"]),
        ("Elle est née le 3 mars 1990", ["née le 3 mars 1990"]),
        ("Date of birth 1er janvier 1985", ["Date of birth 1er janvier 1985"]),
    ],
)
def test_dates_of_birth_found(text, expected):
    assert found("date_of_birth", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Born and raised in the north end",
        "born in 1990",
        "Event on 2026-03-12",
        "DOB required on the form",
        "Adobe 2020-01-01",
    ],
)
def test_dates_of_birth_not_found(text):
    assert found("date_of_birth", text) == []


def test_case_numbers_default_format():
    assert found("case_number", "Info on MPS-2024-000123? Call us.") == ["MPS-2024-000123"]
    assert found("case_number", "MPS-2024-0001234 XMPS-2024-000123 mps-2024-000123 MPS-24-000123") == []


def test_case_numbers_configured_format():
    assert found("case_number", "File 24-123456 and GO-2024-1", pattern=r"\d{2}-\d{6}") == ["24-123456"]


def test_detector_option_errors():
    assert detector_errors("fax_number", {}) == [
        "detector: “fax_number” is not one of phone_number, email, licence_plate, street_address, "
        "date_of_birth, case_number."
    ]
    assert detector_errors("phone_number", {"region": "XX"})[0].startswith("region:")
    assert detector_errors("phone_number", {"allowed": ["not a number"]})[0].startswith("allowed:")
    assert detector_errors("email", {"region": "CA"})[0].startswith("region: not an option of the email detector")
    assert detector_errors("case_number", {"pattern": r"(\d)\1"})[0].startswith("pattern: The linear-time")
    assert detector_errors("case_number", {"pattern": r"\d*"}) == [
        "pattern: matches empty text, so it would flag every post."
    ]
    assert all(detector_errors(name, {}) == [] for name in DETECTORS)
