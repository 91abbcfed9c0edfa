"""Static data for `manage.py seed_demo`: the shape of a large city police service, names and logins.

Everything here is invented. The seeder combines it with a fixed-seed random generator, so every run
builds the same organization.
"""

from __future__ import annotations

import dataclasses

from django.conf import settings

from accounts_registry.models import Role

ROOT_NAME = "Metro Police Service"
RANDOM_SEED = 2026
COURSE = "Social Media Spokesperson Training"
TRAINING_VALIDITY_DAYS = 730
MEMBER_COUNT = 352
EMAIL_DOMAIN = "metropolice.example"

# The service's own accounts: (platform, handle).
CORPORATE_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("x", "MetroPolice"),
    ("facebook", "MetroPolicePage"),
    ("instagram", "metropolice"),
    ("bluesky", "metropolice.bsky.social"),
    ("mastodon", "MetroPolice@police.social"),
)

# police.social, the demo's Mastodon instance: `make demo` serves it with the Mastodon API double, on
# loopback, and every seeded Mastodon account polls it there (CHORUS_DEMO_MASTODON_URL overrides the URL).
MASTODON_DOMAIN = "police.social"
MASTODON_URL = "http://127.0.0.1:8104"


def mastodon_instance_url() -> str:
    return str(getattr(settings, "CHORUS_DEMO_MASTODON_URL", "") or MASTODON_URL)


# Field commands and their divisions (by number).
FIELD_COMMANDS: dict[str, tuple[int, ...]] = {
    "Central Field Command": (11, 14, 51, 52, 53, 55),
    "Area Field Command": (12, 13, 22, 23, 31, 32),
    "East Field Command": (33, 41, 42, 43, 54),
}

COMMUNITY_RESPONSE = "Community Response Unit"
NEIGHBOURHOOD_OFFICERS = "Neighbourhood Community Officers"
YOUTH_TEAM = "Youth Engagement Team"
SPECIALIZED_COMMAND = "Specialized Operations Command"


@dataclasses.dataclass(frozen=True)
class SpecialistUnit:
    name: str
    accounts: tuple[tuple[str, str], ...]
    parent: str = SPECIALIZED_COMMAND


SPECIALIST_UNITS: tuple[SpecialistUnit, ...] = (
    SpecialistUnit(
        "Traffic Services",
        (("x", "MPSTrafficServ"), ("facebook", "MetroPoliceTraffic"), ("instagram", "mps_traffic")),
    ),
    SpecialistUnit("Motor Squad", (("x", "MPSMotorSquad"),), parent="Traffic Services"),
    SpecialistUnit("Crime Prevention", (("x", "MPSCrimePrev"), ("bluesky", "mpscrimeprevention.bsky.social"))),
    SpecialistUnit("Forensic Identification Services", (("x", "MPSForensics"),)),
    SpecialistUnit("Homicide", (("x", "MPSHomicide"),)),
    SpecialistUnit("Marine Unit", (("x", "MPSMarineUnit"), ("instagram", "mps_marine"))),
    SpecialistUnit(
        "Mounted Unit",
        (("x", "MPSMounted"), ("facebook", "MetroPoliceMounted"), ("instagram", "mps_mounted")),
    ),
    SpecialistUnit(
        "Police Dog Services",
        (("x", "MPSPoliceDogs"), ("instagram", "mps_policedogs"), ("mastodon", "MPSPoliceDogs@police.social")),
    ),
    SpecialistUnit("Emergency Task Force", (("x", "MPS_ETF"),)),
    SpecialistUnit(
        "Public Safety & Emergency Management",
        (("x", "MPSEmergMgmt"), ("facebook", "MetroPoliceEmergencyMgmt"), ("bluesky", "mpsemergency.bsky.social")),
    ),
    SpecialistUnit("Communications Services", (("x", "MPSComms"),)),
)

# (rank, relative weight, handle prefix)
RANKS: tuple[tuple[str, int, str], ...] = (
    ("Constable", 56, "PC"),
    ("Sergeant", 14, "Sgt"),
    ("Staff Sergeant", 6, "SSgt"),
    ("Detective", 11, "Det"),
    ("Inspector", 4, "Insp"),
    ("Superintendent", 2, "Supt"),
    ("Civilian Communications Advisor", 7, "MPS"),
)

FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Aaron", "Adebayo", "Aisha", "Alejandro", "Alexandre", "Amanda", "Amir", "Ana", "Andrew",
    "Anjali", "Arjun", "Ayesha", "Benjamin", "Bianca", "Brandon", "Caroline", "Chen", "Chloé", "Chris",
    "Daniel", "Darnell", "Deepa", "Diego", "Dmitri", "Elena", "Emily", "Emmanuel", "Farah", "Fatima",
    "Gabriel", "Grace", "Hamza", "Hannah", "Hiroshi", "Imani", "Isabel", "Jamal", "James", "Jasmine",
    "Jennifer", "Jin", "Joao", "Jonathan", "Kai", "Kateryna", "Kevin", "Kwame", "Laura", "Liam",
    "Lucas", "Maria", "Marcus", "Mei", "Michael", "Mohammed", "Nadia", "Nathan", "Nicole", "Noah",
    "Olivia", "Omar", "Patrick", "Priya", "Rachel", "Rafael", "Rajesh", "Rebecca", "Ryan", "Samira",
    "Sarah", "Sean", "Sofia", "Stephanie", "Tariq", "Thomas", "Tyler", "Valentina", "Wei", "Yusuf",
    "Zainab", "Zoë",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Abdi", "Ahmed", "Ali", "Anderson", "Bailey", "Bergeron", "Bhatt", "Brown", "Campbell", "Chan",
    "Chen", "Chowdhury", "Clarke", "Costa", "Côté", "D'Souza", "Da Silva", "Delgado", "Dubois", "Evans",
    "Fernandes", "Fitzgerald", "Fraser", "Gagnon", "Garcia", "Ghosh", "Gill", "Gordon", "Grant", "Gupta",
    "Hassan", "Henry", "Hoang", "Huang", "Ibrahim", "Jackson", "James", "Johnson", "Kaur", "Khan",
    "Kim", "Kowalski", "Kumar", "Lam", "Lee", "Leblanc", "Li", "Liu", "MacDonald", "Martin",
    "McKenzie", "Mensah", "Mohamed", "Morrison", "Nguyen", "Novak", "O'Brien", "Okafor", "Owusu", "Park",
    "Patel", "Pereira", "Petrov", "Phillips", "Ramirez", "Reid", "Robinson", "Rossi", "Roy", "Santos",
    "Scott", "Shah", "Sharma", "Silva", "Singh", "Smith", "Stewart", "Suleiman", "Tan", "Taylor",
    "Thompson", "Tran", "Tremblay", "Walker", "Wang", "Williams", "Wilson", "Wong", "Yilmaz", "Zhang",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class DemoOfficer:
    """The member the `officer` login is linked to: a constable of 52 Division with personal accounts."""

    full_name: str = "Priya Raman"
    badge_number: str = "52001"
    rank: str = "Constable"
    unit: str = "52 Division"
    platforms: tuple[str, ...] = ("x", "instagram", "bluesky")
    accounts: tuple[tuple[str, str], ...] = (
        ("x", "PCPriyaRaman"),
        ("instagram", "pc.priya.raman"),
        ("bluesky", "priyaraman-mps.bsky.social"),
    )


DEMO_OFFICER = DemoOfficer()


# --- People at every stage (demo.people): try each flow on their member pages -----------------------
CATALOGUE_COURSE = "Social Media Spokesperson (catalogue)"
SITE_URL = "http://127.0.0.1:8000/"  # where the demo serves: the invitation e-mail's link points there
TRANSFER_TO = "Traffic Services"


@dataclasses.dataclass(frozen=True)
class PeopleStage:
    key: str
    full_name: str
    badge: str
    unit: str
    trained_days_ago: int | None  # a completion of CATALOGUE_COURSE that many days ago; None: untrained


PEOPLE_STAGES: tuple[PeopleStage, ...] = (
    PeopleStage("invited", "Noah Bennett", "52101", "52 Division", 10),  # invited, no password yet
    PeopleStage("transferred", "Leila Haddad", "52102", "52 Division", 200),  # moved to Traffic Services
    PeopleStage("leaver", "Owen Clarke", "52103", "52 Division", 400),  # left; account handed over
    PeopleStage("successor", "Maya Singh", "52104", "52 Division", 30),  # took Owen's account
    PeopleStage("expiring", "Tom Becker", "52105", "52 Division", 715),  # training expires in 15 days
    PeopleStage("untrained", "Ava Morris", "52106", "52 Division", None),  # refused as a successor
)

DEMO_PASSWORD = "chorus-demo-2026"  # noqa: S105 — the demo's published login, printed by `make demo`; never a real account


@dataclasses.dataclass(frozen=True)
class DemoLogin:
    username: str
    role: Role
    unit: str  # unit name ("52 Division"); unique in the demo tree
    description: str
    is_superuser: bool = False


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("admin", Role.ADMIN, ROOT_NAME, "admin of the whole service (and the Django admin)", is_superuser=True),
    DemoLogin("comms", Role.COMMS_MANAGER, ROOT_NAME, "comms manager of the whole service"),
    DemoLogin("super52", Role.SUPERVISOR, "52 Division", "supervisor of 52 Division"),
    DemoLogin("supertraffic", Role.SUPERVISOR, "Traffic Services", "supervisor of Traffic Services"),
    DemoLogin("officer", Role.MEMBER, DEMO_OFFICER.unit, f"member: {DEMO_OFFICER.full_name}, own accounts only"),
)


# The demo admin is enrolled with this authenticator-app secret (base32), so a newcomer sees the second
# step of signing in; `manage.py demo_totp` prints its current code. A demo value: never reuse it.
DEMO_TOTP_SECRET = "CHORUSDEMOADMINTOTPSECRETBASE32A"  # noqa: S105 — the demo's public secret, printed openly
DEMO_TOTP_USERNAME = "admin"


def totp_uri(secret: str = DEMO_TOTP_SECRET, username: str = DEMO_TOTP_USERNAME) -> str:
    """The otpauth:// URI an authenticator app imports (as its QR code would carry it)."""
    return f"otpauth://totp/Chorus:{username}?secret={secret}&issuer=Chorus"


def logins_table() -> str:
    """The demo logins as a plain-text table, for the terminal, with how to sign in as the admin."""
    width = max(len(login.username) for login in DEMO_LOGINS)
    lines = [f"  {'Username':<{width}}  {'Password':<{len(DEMO_PASSWORD)}}  Can see"]
    lines += [f"  {login.username:<{width}}  {DEMO_PASSWORD}  {login.description}" for login in DEMO_LOGINS]
    lines += [
        "",
        f"  Second factor: '{DEMO_TOTP_USERNAME}' is enrolled with an authenticator app. Its current code:",
        "      .venv/bin/python manage.py demo_totp",
        f"  or add it to your own app: {totp_uri()}",
        "  'comms' (a comms manager) must set up an authenticator app at first sign-in; the others may.",
    ]
    return "\n".join(lines)
