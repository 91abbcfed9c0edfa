"""The demo organization, a large city police service, built by `manage.py seed_demo`.

Deterministic (random.Random with a fixed seed, dates relative to today) and idempotent: if the root
unit exists the command reports "already seeded" and writes nothing; `--reset` deletes the registry
first. Everything is created through the registry services, so the audit trail looks like real use.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import re
import time
import unicodedata
from collections import Counter
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management.base import CommandError
from django.utils import timezone

from accounts_registry.models import (
    AuditEvent,
    Member,
    OrgUnit,
    Platform,
    RoleGrant,
    SocialAccount,
    Training,
    TrainingCourse,
)
from accounts_registry.services.accounts import OnboardingRequest, account_onboard, account_set_status
from accounts_registry.services.audit import audit_record
from accounts_registry.services.members import member_create, member_mark_left, training_record
from accounts_registry.services.roles import role_grant
from accounts_registry.services.units import unit_create
from demo import data as demo_data
from demo.people import build_people_stages

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = SocialAccount.Status
Kind = SocialAccount.Kind

# Planted governance problems: each is an account an admin should find on the governance page.
HOLDERS_WHO_LEFT = 5
HOLDERS_WITH_EXPIRED_TRAINING = 8
STALE_PENDING = 3
RECENT_PENDING = 2
NEEDS_RECONNECT_DIVISIONS = (14, 32, 43)
PAUSED = 2
RETIRED = 4
LEFT_WITHOUT_ACCOUNTS = 6
UNTRAINED = 42  # besides those who left; ten of them hold training that lapsed long ago
SHARE_HOLDING_ACCOUNTS = 0.72  # of the trained members without a planted problem


def _ascii(text: str) -> str:
    """Letters and digits only: "D'Souza" → "DSouza", "Côté" → "Cote"."""
    return re.sub(r"[^A-Za-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode())


def _demo_credentials(platform: str, rng: random.Random) -> dict[str, str]:
    if platform == Platform.X:
        return {}  # X is read with the organization-wide app token
    token = f"demo-{platform}-{rng.getrandbits(64):016x}"
    return {"app_password": token} if platform == Platform.BLUESKY else {"access_token": token}


@dataclasses.dataclass
class Person:
    first: str
    last: str
    badge: str
    rank: str
    prefix: str
    unit: OrgUnit
    member: Member | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclasses.dataclass
class SeedReport:
    units: int = 0
    members: int = 0
    trained: int = 0
    accounts: Counter[str] = dataclasses.field(default_factory=Counter)
    statuses: Counter[str] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0


class Seeder:
    """Builds the organization inside the caller's transaction. One instance, one run."""

    def __init__(self, *, actor: User, today: datetime.date, seed: int = demo_data.RANDOM_SEED) -> None:
        self.actor = actor
        self.today = today
        self.rng = random.Random(seed)  # noqa: S311 — seeded on purpose: the same demo data every time, no secret
        self.units: dict[str, OrgUnit] = {}
        self.member_units: list[tuple[OrgUnit, int]] = []
        self.taken_handles: set[tuple[str, str]] = set()

    # --- units ----------------------------------------------------------------------------------

    def _unit(self, key: str, name: str, parent: OrgUnit | None, kind: str, member_weight: int) -> OrgUnit:
        if parent is not None:
            # Sorted insertion may shift siblings' paths: always add under a fresh copy of the parent.
            parent.refresh_from_db()
        unit = unit_create(name=name, parent=parent, kind=kind, actor=self.actor)
        self.units[key] = unit
        if member_weight:
            self.member_units.append((unit, member_weight))
        return unit

    def build_units(self) -> None:
        root = self._unit(demo_data.ROOT_NAME, demo_data.ROOT_NAME, None, OrgUnit.Kind.SERVICE, 2)
        for command_name, divisions in sorted(demo_data.FIELD_COMMANDS.items()):
            command = self._unit(command_name, command_name, root, OrgUnit.Kind.COMMAND, 1)
            for number in sorted(divisions):
                division = self._unit(f"{number} Division", f"{number} Division", command, OrgUnit.Kind.DIVISION, 7)
                self._unit(f"{number}/cru", demo_data.COMMUNITY_RESPONSE, division, OrgUnit.Kind.UNIT, 5)
                # Every division has a community response unit; most add one more team.
                second = number % 3
                if second == 0:
                    self._unit(f"{number}/nco", demo_data.NEIGHBOURHOOD_OFFICERS, division, OrgUnit.Kind.TEAM, 4)
                elif second == 1:
                    self._unit(f"{number}/youth", demo_data.YOUTH_TEAM, division, OrgUnit.Kind.TEAM, 3)
                elif number % 2 == 0:
                    self._unit(f"{number}/nco", demo_data.NEIGHBOURHOOD_OFFICERS, division, OrgUnit.Kind.TEAM, 4)
        specialized = self._unit(
            demo_data.SPECIALIZED_COMMAND, demo_data.SPECIALIZED_COMMAND, root, OrgUnit.Kind.COMMAND, 1
        )
        for specialist in demo_data.SPECIALIST_UNITS:
            parent = (
                specialized if specialist.parent == demo_data.SPECIALIZED_COMMAND else self.units[specialist.parent]
            )
            weight = 9 if specialist.name == "Communications Services" else 5
            self._unit(specialist.name, specialist.name, parent, OrgUnit.Kind.UNIT, weight)
        # Paths may have moved while siblings were inserted in sorted order: reload every unit once.
        fresh = OrgUnit.objects.in_bulk([unit.pk for unit in self.units.values()])
        self.units = {key: fresh[unit.pk] for key, unit in self.units.items()}
        self.member_units = [(fresh[unit.pk], weight) for unit, weight in self.member_units]

    # --- accounts -------------------------------------------------------------------------------

    def _claim(self, platform: str, candidates: list[str]) -> str:
        for handle in candidates:
            key = (platform, handle.lower())
            if key not in self.taken_handles:
                self.taken_handles.add(key)
                return handle
        raise CommandError(f"No free {platform} handle among {candidates}")  # the last candidate is unique

    def _onboard(
        self,
        *,
        platform: str,
        handle: str,
        kind: str,
        unit: OrgUnit | None = None,
        holder: Member | None = None,
        with_credentials: bool = True,
    ) -> SocialAccount:
        self.taken_handles.add((platform, handle.lower()))
        credentials = _demo_credentials(platform, self.rng) if with_credentials else {}
        # The demo's Mastodon instance is the loopback double `make demo` starts, not a real server.
        instance_url = demo_data.mastodon_instance_url() if platform == Platform.MASTODON else ""
        return account_onboard(
            request=OnboardingRequest(
                platform=platform,
                handle=handle,
                kind=kind,
                unit=unit,
                holder=holder,
                instance_url=instance_url,
                credentials=credentials,
            ),
            actor=self.actor,
        )

    def build_unit_accounts(self) -> None:
        root = self.units[demo_data.ROOT_NAME]
        for platform, handle in demo_data.CORPORATE_ACCOUNTS:
            self._onboard(platform=platform, handle=handle, kind=Kind.CORPORATE, unit=root)
        for number in sorted(n for divisions in demo_data.FIELD_COMMANDS.values() for n in divisions):
            division = self.units[f"{number} Division"]
            self._onboard(platform=Platform.X, handle=f"MPS{number}Div", kind=Kind.UNIT, unit=division)
            self._onboard(
                platform=Platform.FACEBOOK, handle=f"MetroPolice{number}Division", kind=Kind.UNIT, unit=division
            )
            if number % 2 == 1:
                self._onboard(platform=Platform.INSTAGRAM, handle=f"mps{number}div", kind=Kind.UNIT, unit=division)
            if number % 4 == 1:
                self._onboard(
                    platform=Platform.BLUESKY, handle=f"mps{number}div.bsky.social", kind=Kind.UNIT, unit=division
                )
            if number in (14, 41, 52):
                self._onboard(
                    platform=Platform.MASTODON, handle=f"MPS{number}Div@police.social", kind=Kind.UNIT, unit=division
                )
            if number % 2 == 0:
                self._onboard(
                    platform=Platform.X, handle=f"MPS{number}CRU", kind=Kind.UNIT, unit=self.units[f"{number}/cru"]
                )
            if f"{number}/nco" in self.units:
                team = self.units[f"{number}/nco"]
                self._onboard(platform=Platform.X, handle=f"MPS{number}NCO", kind=Kind.UNIT, unit=team)
                self._onboard(platform=Platform.INSTAGRAM, handle=f"mps{number}nco", kind=Kind.UNIT, unit=team)
            if f"{number}/youth" in self.units:
                self._onboard(
                    platform=Platform.INSTAGRAM,
                    handle=f"mps{number}youth",
                    kind=Kind.UNIT,
                    unit=self.units[f"{number}/youth"],
                )
        for specialist in demo_data.SPECIALIST_UNITS:
            for platform, handle in specialist.accounts:
                self._onboard(platform=platform, handle=handle, kind=Kind.UNIT, unit=self.units[specialist.name])

    # --- people ---------------------------------------------------------------------------------

    def _people(self) -> list[Person]:
        officer_first, officer_last = demo_data.DEMO_OFFICER.full_name.split(" ", 1)
        names = {(officer_first, officer_last)}
        badges = sorted(self.rng.sample(range(10000, 99999), demo_data.MEMBER_COUNT * 2))
        badges = [badge for badge in badges if str(badge) != demo_data.DEMO_OFFICER.badge_number]
        self.rng.shuffle(badges)
        ranks, weights, prefixes = zip(*demo_data.RANKS, strict=True)
        prefix_of = dict(zip(ranks, prefixes, strict=True))
        units, unit_weights = zip(*self.member_units, strict=True)
        people: list[Person] = []
        while len(people) < demo_data.MEMBER_COUNT - 1:  # the demo officer is the last one
            first, last = self.rng.choice(demo_data.FIRST_NAMES), self.rng.choice(demo_data.LAST_NAMES)
            if (first, last) in names:
                continue
            names.add((first, last))
            rank = self.rng.choices(ranks, weights=weights)[0]
            unit = self.rng.choices(units, weights=unit_weights)[0]
            people.append(Person(first, last, str(badges[len(people)]), rank, prefix_of[rank], unit))
        return people

    def _create_member(self, person: Person, *, left_on: datetime.date | None = None) -> Member:
        email = f"{_ascii(person.first)}.{_ascii(person.last)}@{demo_data.EMAIL_DOMAIN}".lower()
        person.member = member_create(
            full_name=person.full_name,
            badge_number=person.badge,
            unit=person.unit,
            rank=person.rank,
            email=email,
            left_on=left_on,
            actor=self.actor,
        )
        return person.member

    def _train(self, member: Member, *, days_ago: int, platforms: list[str], expires: bool = True) -> Training:
        completed_on = self.today - datetime.timedelta(days=days_ago)
        expires_on = completed_on + datetime.timedelta(days=demo_data.TRAINING_VALIDITY_DAYS) if expires else None
        training, _ = training_record(
            member=member,
            course=demo_data.COURSE,
            completed_on=completed_on,
            expires_on=expires_on,
            platforms=platforms,
            actor=self.actor,
        )
        return training

    def _authorized_platforms(self) -> list[str]:
        platforms: list[str] = [Platform.X] if self.rng.random() < 0.95 else []
        for platform, share in ((Platform.INSTAGRAM, 0.65), (Platform.FACEBOOK, 0.35), (Platform.BLUESKY, 0.3)):
            if self.rng.random() < share:
                platforms.append(platform)
        if self.rng.random() < 0.2 or not platforms:
            platforms.append(Platform.MASTODON)
        return platforms

    def _personal_handle(self, person: Person, platform: str) -> str:
        first, last, badge, prefix = _ascii(person.first), _ascii(person.last), person.badge, person.prefix
        if platform == Platform.X:
            candidates = [f"{prefix}{last}", f"{prefix}{first}{last}", f"{prefix}{last}{badge[-3:]}"]
            return self._claim(platform, [c[:15] for c in candidates] + [f"{prefix}{badge}"])
        if platform == Platform.INSTAGRAM:
            stem = f"{prefix}.{first}.{last}".lower()
            return self._claim(platform, [stem[:30], f"{stem[:24]}.{badge}"])
        if platform == Platform.BLUESKY:
            stem = f"{first}{last}".lower()
            return self._claim(platform, [f"{stem}-mps.bsky.social", f"{stem}{badge}-mps.bsky.social"])
        stem = f"{first}{last}"[:24]
        return self._claim(platform, [f"{stem}@police.social", f"{stem}{badge}@police.social"])

    def _personal_accounts(self, person: Person, platforms: list[str]) -> list[SocialAccount]:
        assert person.member is not None
        chosen = [p for p in platforms if p == Platform.X and self.rng.random() < 0.9]
        chosen += [p for p in platforms if p == Platform.INSTAGRAM and self.rng.random() < 0.45]
        chosen += [p for p in platforms if p in (Platform.BLUESKY, Platform.MASTODON) and self.rng.random() < 0.45]
        if not chosen:
            chosen = (
                [next(p for p in platforms if p != Platform.FACEBOOK)] if set(platforms) - {Platform.FACEBOOK} else []
            )
        return [
            self._onboard(
                platform=platform,
                handle=self._personal_handle(person, platform),
                kind=Kind.PERSONAL,
                holder=person.member,
            )
            for platform in chosen
        ]

    def build_people(self) -> list[SocialAccount]:
        """Members, training and personal accounts. Returns the personal accounts with no planted problem."""
        people = self._people()
        self.rng.shuffle(people)
        # Slices of one shuffled list: the planted groups never overlap.
        left_without_accounts = people[:LEFT_WITHOUT_ACCOUNTS]
        untrained = people[LEFT_WITHOUT_ACCOUNTS : LEFT_WITHOUT_ACCOUNTS + UNTRAINED]
        trained = people[LEFT_WITHOUT_ACCOUNTS + UNTRAINED :]
        will_leave = trained[:HOLDERS_WHO_LEFT]
        will_expire = trained[HOLDERS_WHO_LEFT : HOLDERS_WHO_LEFT + HOLDERS_WITH_EXPIRED_TRAINING]
        ordinary = trained[HOLDERS_WHO_LEFT + HOLDERS_WITH_EXPIRED_TRAINING :]

        for person in sorted(people, key=lambda p: p.badge):
            left_on = self.today - datetime.timedelta(days=self.rng.randint(30, 400))
            self._create_member(person, left_on=left_on if person in left_without_accounts else None)

        ordinary_accounts: list[SocialAccount] = []
        for person in ordinary:
            assert person.member is not None
            platforms = self._authorized_platforms()
            self._train(person.member, days_ago=self.rng.randint(10, 715), platforms=platforms)
            if self.rng.random() < SHARE_HOLDING_ACCOUNTS:
                ordinary_accounts += self._personal_accounts(person, platforms)
        for person in untrained[:10]:
            # Some untrained members once held training that lapsed long ago: no accounts, no problem.
            assert person.member is not None
            self._train(person.member, days_ago=self.rng.randint(800, 1200), platforms=[Platform.X])

        for person in will_leave:
            assert person.member is not None
            self._train(person.member, days_ago=self.rng.randint(100, 600), platforms=[Platform.X, Platform.INSTAGRAM])
            self._onboard(
                platform=Platform.X,
                handle=self._personal_handle(person, Platform.X),
                kind=Kind.PERSONAL,
                holder=person.member,
            )
            member_mark_left(
                member=person.member,
                left_on=self.today - datetime.timedelta(days=self.rng.randint(20, 150)),
                actor=self.actor,
            )
        for person in will_expire:
            assert person.member is not None
            # Trained more than two years ago; the expiry was entered only after the account was registered.
            days_ago = self.rng.randint(745, 900)
            self._train(person.member, days_ago=days_ago, platforms=[Platform.X], expires=False)
            self._onboard(
                platform=Platform.X,
                handle=self._personal_handle(person, Platform.X),
                kind=Kind.PERSONAL,
                holder=person.member,
            )
            self._train(person.member, days_ago=days_ago, platforms=[Platform.X])
        return ordinary_accounts

    def build_demo_officer(self) -> Member:
        officer = demo_data.DEMO_OFFICER
        first, last = officer.full_name.split(" ", 1)
        person = Person(first, last, officer.badge_number, officer.rank, "PC", self.units[officer.unit])
        member = self._create_member(person)
        self._train(member, days_ago=120, platforms=list(officer.platforms))
        for platform, handle in officer.accounts:
            self._onboard(platform=platform, handle=handle, kind=Kind.PERSONAL, holder=member)
        return member

    # --- lifecycle and planted problems --------------------------------------------------------

    def build_lifecycle(self, ordinary_accounts: list[SocialAccount]) -> None:
        for number in NEEDS_RECONNECT_DIVISIONS:
            account = SocialAccount.objects.get(platform=Platform.FACEBOOK, handle=f"MetroPolice{number}Division")
            account_set_status(
                account=account,
                status=Status.NEEDS_RECONNECT,
                reason="Facebook rejected the stored page token (401); reconnect the page.",
                actor=self.actor,
            )
            # Seed data only: broken for ten days, so nobody fixed it within the grace period.
            since = timezone.now() - datetime.timedelta(days=10)
            SocialAccount.objects.filter(pk=account.pk).update(status_changed_at=since)
        sample = self.rng.sample(ordinary_accounts, PAUSED + RETIRED)
        for account in sample[:PAUSED]:
            account_set_status(
                account=account, status=Status.PAUSED, reason="Officer on extended leave.", actor=self.actor
            )
        for account in sample[PAUSED:]:
            account_set_status(
                account=account, status=Status.RETIRED, reason="Officer moved to a non-public role.", actor=self.actor
            )
        # Waiting for credentials: three for weeks (a governance problem), two onboarded this week.
        waiting = [
            (Platform.FACEBOOK, "MetroPolice23CRU", "23/cru"),
            (Platform.INSTAGRAM, "mps_crimeprevention", "Crime Prevention"),
            (Platform.BLUESKY, "mps52cru.bsky.social", "52/cru"),
            (Platform.FACEBOOK, "MetroPoliceMarine", "Marine Unit"),
            (Platform.MASTODON, "MPS13Youth@police.social", "13/youth"),
        ]
        for index, (platform, handle, unit_key) in enumerate(waiting):
            account = self._onboard(
                platform=platform, handle=handle, kind=Kind.UNIT, unit=self.units[unit_key], with_credentials=False
            )
            if index < STALE_PENDING:
                since = timezone.now() - datetime.timedelta(days=20 + 9 * index)
                # Seed data only: backdate as if onboarded weeks ago.
                SocialAccount.objects.filter(pk=account.pk).update(status_changed_at=since, onboarded_at=since)

    def build_logins(self, officer: Member) -> None:
        for login in demo_data.DEMO_LOGINS:
            user = self.actor if login.username == self.actor.username else demo_user(login.username)
            role_grant(username=login.username, role=login.role, unit=self.units[login.unit], actor=self.actor)
            if login.username == demo_data.DEMO_TOTP_USERNAME:
                _enrol_demo_totp(user)
            if login.username == "officer":
                Member.objects.filter(pk=officer.pk).update(user=user)
                audit_record(
                    actor=self.actor,
                    verb=AuditEvent.Verb.MEMBER_LINK_USER,
                    target=officer,
                    unit=officer.unit,
                    after={"user": user.get_username()},
                )

    def run(self) -> SeedReport:
        started = time.monotonic()
        self.build_units()
        self.build_unit_accounts()
        ordinary_accounts = self.build_people()
        officer = self.build_demo_officer()
        self.build_lifecycle(ordinary_accounts)
        self.build_logins(officer)
        build_people_stages(units=self.units, actor=self.actor, today=self.today, site_url=demo_data.SITE_URL)
        return SeedReport(
            units=OrgUnit.objects.count(),
            members=Member.objects.count(),
            trained=Member.objects.filter(trainings__isnull=False).distinct().count(),
            accounts=Counter(SocialAccount.objects.values_list("platform", flat=True)),
            statuses=Counter(SocialAccount.objects.values_list("status", flat=True)),
            seconds=time.monotonic() - started,
        )


def demo_user(username: str, *, is_superuser: bool = False) -> User:
    """Create (or reset) a demo login with the documented password."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first() or user_model(username=username)
    user.is_staff = is_superuser
    user.is_superuser = is_superuser
    user.email = f"{username}@{demo_data.EMAIL_DOMAIN}"
    validate_password(demo_data.DEMO_PASSWORD, user)
    user.set_password(demo_data.DEMO_PASSWORD)
    user.save()
    return user


def _enrol_demo_totp(user: User) -> None:
    """Enrol the demo admin's authenticator app with the documented secret, plus recovery codes."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, demo_data.DEMO_TOTP_SECRET)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)


def registry_reset() -> None:
    """Delete every registry row and the demo logins (demo databases only)."""
    SocialAccount.objects.all().delete()
    Training.objects.all().delete()
    TrainingCourse.objects.all().delete()
    demo_logins = [login.username for login in demo_data.DEMO_LOGINS]
    get_user_model().objects.filter(member__isnull=False).exclude(username__in=demo_logins).delete()
    Member.objects.all().delete()
    RoleGrant.objects.all().delete()
    AuditEvent.objects.all().delete()
    OrgUnit.objects.all().delete()
    get_user_model().objects.filter(username__in=[login.username for login in demo_data.DEMO_LOGINS]).delete()


def is_seeded() -> bool:
    return OrgUnit.objects.get_root_nodes().filter(name=demo_data.ROOT_NAME).exists()
