"""Build a synthetic demo organization: staff in every role, and N patients with
episodes and their history, coverage and emergency contacts.

Two steps. `plan_build` decides everything from the seed (pure: no ORM, no clock;
the day is passed in), so the same seed gives the same people, MRNs and statuses;
dates are placed relative to the given day so that a demo always looks current.
`plan_load` writes the plan with bulk inserts in one transaction and one audit
event, which is what makes 10,000 patients take seconds rather than minutes.

Synthetic data only: names and streets come from Faker, phone numbers are 555
numbers, email addresses are at example.org and example.com.
"""

from __future__ import annotations

import gc
import hashlib
import random
import time as clock
import uuid
from bisect import bisect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from faker import Faker

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Role
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.core.demo import DEMO_PASSWORD, require_demo_mode
from openiop.episodes import rules as episode_rules
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.organizations.models import (
    LevelOfCare,
    Organization,
    Payer,
    PlanType,
    Program,
    ProgramType,
    Site,
)
from openiop.patients.models import (
    Coverage,
    CoverageStatus,
    EmergencyContact,
    GenderIdentity,
    MrnSequence,
    Patient,
    SexAtBirth,
    SubscriberRelationship,
)
from openiop.patients.rules import mrn_format, phone_digits

ORGANIZATION_NAME = "Riverside Recovery Collaborative"
MRN_PREFIX = ""
STATE = "OR"
BATCH_SIZE = 1000
NO_DEVICE_USERNAME = "newhire"  # left without an authenticator, to show enrolment


T = TypeVar("T")


class _Weighted(Generic[T]):
    """(value, weight) pairs to draw from with a seeded Random, weights summed once."""

    def __init__(self, *pairs: tuple[T, int]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


# --- The organization: fixed, whatever the seed ------------------------------------


@dataclass(frozen=True)
class SiteSpec:
    key: str
    name: str
    address: str
    phone: str


@dataclass(frozen=True)
class ProgramSpec:
    key: str
    site: str
    name: str
    program_type: str
    weight: int  # share of patients whose main program this is


@dataclass(frozen=True)
class PayerSpec:
    key: str
    name: str
    payer_code: str
    plan_type: str


@dataclass(frozen=True)
class StaffSpec:
    username: str
    first_name: str
    last_name: str
    role: str
    credentials: str
    programs: tuple[str, ...]
    is_trainee: bool = False
    is_staff: bool = False
    takes_caseload: bool = True


SITES = (
    SiteSpec("main", "Main Street", "1200 SE Main St, Portland, OR 97214", "555-201-1200"),
    SiteSpec("east", "Eastside Clinic", "410 NE Division Ave, Gresham, OR 97030", "555-201-4100"),
)

PROGRAMS = (
    ProgramSpec("sud_am", "main", "Morning SUD IOP", ProgramType.SUD_IOP, 30),
    ProgramSpec("mh_pm", "main", "Evening Mental Health IOP", ProgramType.MH_IOP, 24),
    ProgramSpec("dual", "main", "Dual Diagnosis IOP", ProgramType.DUAL_DIAGNOSIS, 18),
    ProgramSpec("teen", "east", "Adolescent IOP", ProgramType.ADOLESCENT, 10),
    ProgramSpec("sud_east", "east", "Eastside Evening SUD IOP", ProgramType.SUD_IOP, 18),
)

PAYERS = (
    PayerSpec("cascade", "Cascade Community Care (Medicaid)", "CCC01", PlanType.MEDICAID),
    PayerSpec("summit", "Summit Shield Health PPO", "SSH22", PlanType.PRIVATE),
    PayerSpec("pacific", "Pacific Crest Mutual", "PCM07", PlanType.PRIVATE),
    PayerSpec("medicare", "Medicare Part B", "MCRB1", PlanType.MEDICARE),
)

_MAIN = ("sud_am", "mh_pm", "dual")
_EAST = ("teen", "sud_east")
_ALL = _MAIN + _EAST

STAFF = (
    StaffSpec("director", "Dana", "Whitfield", Role.PROGRAM_DIRECTOR, "LCSW", _MAIN),
    StaffSpec("prescriber", "Marcus", "Okonjo", Role.PRESCRIBER, "MD", _ALL),
    StaffSpec("therapist", "Priya", "Raman", Role.THERAPIST, "LPC", ("mh_pm", "dual")),
    StaffSpec("counselor", "Luis", "Ortega", Role.COUNSELOR, "CADC II", ("sud_am", "dual")),
    StaffSpec(
        "trainee", "Jamie", "Kowalski", Role.COUNSELOR, "CADC-R", ("sud_am",), is_trainee=True
    ),
    StaffSpec("nurse", "Grace", "Liang", Role.NURSE, "RN", _MAIN),
    StaffSpec("casemanager", "Tanya", "Brooks", Role.CASE_MANAGER, "QMHA", _ALL),
    StaffSpec("intake", "Kevin", "Marsh", Role.INTAKE_COORDINATOR, "CADC I", _ALL),
    StaffSpec("billing", "Rhonda", "Pierce", Role.BILLING_SPECIALIST, "CPC", _ALL),
    StaffSpec("frontdesk", "Sam", "Delgado", Role.FRONT_DESK, "", _MAIN),
    StaffSpec("auditor", "Helen", "Nakamura", Role.AUDITOR, "CHC", _ALL),
    StaffSpec("admin", "Alex", "Morgan", Role.SYSTEM_ADMIN, "", (), is_staff=True),
    StaffSpec("eastdirector", "Renee", "Coleman", Role.PROGRAM_DIRECTOR, "LCSW", _EAST),
    StaffSpec("easttherapist", "Jordan", "Ellis", Role.THERAPIST, "LMFT", _EAST),
    StaffSpec("eastcounselor", "Maya", "Thompson", Role.COUNSELOR, "CADC III", _EAST),
    StaffSpec("np", "Aisha", "Bello", Role.PRESCRIBER, "PMHNP-BC", _EAST),
    StaffSpec(
        NO_DEVICE_USERNAME,
        "Chris",
        "Vance",
        Role.COUNSELOR,
        "CADC-R",
        ("sud_am",),
        takes_caseload=False,
    ),
)

# Real Oregon towns with their ZIP prefixes; the streets are Faker's inventions.
CITIES = (
    ("Portland", "972", 40),
    ("Gresham", "970", 14),
    ("Beaverton", "970", 9),
    ("Hillsboro", "971", 8),
    ("Milwaukie", "972", 5),
    ("Oregon City", "970", 5),
    ("Tigard", "972", 5),
    ("Lake Oswego", "970", 3),
    ("Troutdale", "970", 3),
    ("Happy Valley", "970", 3),
)

# Common short forms, for the patients who go by one.
_NICKNAME_PAIRS = (
    "Alexander=Alex Andrew=Andy Anthony=Tony Benjamin=Ben Charles=Charlie "
    "Christopher=Chris Daniel=Dan David=Dave Edward=Eddie Gregory=Greg Jacob=Jake "
    "James=Jim Jonathan=Jon Joseph=Joe Joshua=Josh Kenneth=Ken Matthew=Matt Michael=Mike "
    "Nathaniel=Nate Nicholas=Nick Richard=Rick Robert=Rob Ronald=Ron Samuel=Sam "
    "Steven=Steve Thomas=Tom Timothy=Tim William=Will Zachary=Zach Abigail=Abby "
    "Catherine=Cat Christina=Tina Cynthia=Cindy Deborah=Deb Elizabeth=Liz Jennifer=Jen "
    "Jessica=Jess Katherine=Kate Kimberly=Kim Margaret=Maggie Melissa=Missy "
    "Patricia=Trish Rebecca=Becca Samantha=Sam Stephanie=Steph Susan=Sue Victoria=Tori "
    "Alexandra=Lexi"
)
NICKNAMES = {
    name: short for name, _, short in (pair.partition("=") for pair in _NICKNAME_PAIRS.split())
}

LANGUAGES = _Weighted(
    ("English", 88),
    ("Spanish", 8),
    ("Vietnamese", 1),
    ("Russian", 1),
    ("Chinese", 1),
    ("American Sign Language", 1),
)

ADULT_CONTACTS = _Weighted(
    ("Mother", 14),
    ("Father", 7),
    ("Spouse", 18),
    ("Partner", 12),
    ("Sister", 10),
    ("Brother", 8),
    ("Friend", 12),
    ("Sponsor", 6),
    ("Adult child", 8),
    ("Aunt", 3),
    ("Grandmother", 2),
)
TEEN_CONTACTS = _Weighted(
    ("Mother", 50),
    ("Father", 30),
    ("Grandmother", 8),
    ("Legal guardian", 8),
    ("Aunt", 4),
)

DISCHARGE_REASONS = _Weighted(
    ("Completed treatment goals; stepped down to outpatient (1)", 45),
    ("Completed program", 15),
    ("Left against clinical advice", 14),
    ("Stopped attending; unable to reach after three attempts", 12),
    ("Transferred to residential care (3.5)", 6),
    ("Moved out of the area", 4),
    ("Insurance authorization ended", 4),
)
CANCEL_REASONS = _Weighted(
    ("Did not attend the screening appointment", 35),
    ("Declined admission", 20),
    ("Needs a higher level of care; referred to residential", 15),
    ("Chose another provider", 15),
    ("No active coverage and declined self-pay", 10),
    ("Duplicate referral", 5),
)
LEVEL_UP_REASON = "More structure needed after a return to use in week 3"

# Status of a patient's newest episode; "most active or discharged".
LATEST_STATUS_WEIGHTS = _Weighted(
    (EpisodeStatus.ACTIVE, 40),
    (EpisodeStatus.DISCHARGED, 33),
    (EpisodeStatus.REFERRED, 8),
    (EpisodeStatus.SCREENING, 7),
    (EpisodeStatus.CANCELLED, 12),
)
READMISSION_SHARE = 0.2

SEX_AT_BIRTH = _Weighted(
    (SexAtBirth.FEMALE, 480),
    (SexAtBirth.MALE, 480),
    (SexAtBirth.INTERSEX, 5),
    (SexAtBirth.UNKNOWN, 10),
    (SexAtBirth.DECLINED, 25),
)


def _identities(cis: str, trans: str) -> _Weighted[str]:
    return _Weighted(
        (cis, 880),
        (trans, 20),
        (GenderIdentity.NONBINARY, 30),
        (GenderIdentity.OTHER, 5),
        ("", 45),  # not asked or not recorded
        (GenderIdentity.DECLINED, 20),
    )


GENDER_IDENTITY_BY_SEX: dict[str, _Weighted[str]] = {
    SexAtBirth.FEMALE: _identities(GenderIdentity.WOMAN, GenderIdentity.TRANSGENDER_MAN),
    SexAtBirth.MALE: _identities(GenderIdentity.MAN, GenderIdentity.TRANSGENDER_WOMAN),
}
_PROGRAM_SHARES = _Weighted(*((p, p.weight) for p in PROGRAMS))
_CITY_SHARES = _Weighted(*(((city, zip3), weight) for city, zip3, weight in CITIES))


# --- The plan: what to create, decided from the seed --------------------------------


@dataclass(frozen=True)
class EventPlan:
    kind: str
    effective_on: date
    at: time
    changed_by: str  # username
    from_status: str = ""
    to_status: str = ""
    from_level: str = ""
    to_level: str = ""
    reason: str = ""


@dataclass(frozen=True)
class EpisodePlan:
    public_id: uuid.UUID
    program: str  # ProgramSpec.key
    status: str
    level_of_care: str
    referred_on: date
    admitted_on: date | None
    ended_on: date | None
    primary_counselor: str  # usernames; "" when unassigned
    prescriber: str
    case_manager: str
    events: tuple[EventPlan, ...]


@dataclass(frozen=True)
class CoveragePlan:
    public_id: uuid.UUID
    payer: str  # PayerSpec.key; "" for self-pay
    plan_type: str
    member_id: str
    group_number: str
    subscriber_name: str
    relationship_to_subscriber: str
    effective_start: date
    effective_end: date | None
    priority: int
    status: str


@dataclass(frozen=True)
class ContactPlan:
    public_id: uuid.UUID
    name: str
    relationship: str
    phone: str


@dataclass(frozen=True)
class PatientPlan:
    public_id: uuid.UUID
    mrn: str
    legal_given_name: str
    legal_middle_name: str
    legal_family_name: str
    preferred_name: str
    pronouns: str
    date_of_birth: date
    sex_at_birth: str
    gender_identity: str
    phone: str
    email: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    preferred_language: str
    episodes: tuple[EpisodePlan, ...]  # oldest first
    coverages: tuple[CoveragePlan, ...]
    contacts: tuple[ContactPlan, ...]


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    today: date
    staff_public_ids: dict[str, uuid.UUID]
    totp_keys: dict[str, str]
    patients: tuple[PatientPlan, ...]

    def fingerprint(self) -> str:
        return fingerprint(
            (p.mrn, p.legal_given_name, p.legal_family_name, tuple(e.status for e in p.episodes))
            for p in self.patients
        )


def fingerprint(rows: Iterable[tuple[str, str, str, Sequence[str]]]) -> str:
    """A short digest of (MRN, given name, family name, episode statuses) rows: the
    same for the same seed on any day and machine (dates are left out on purpose)."""
    digest = hashlib.sha256()
    for mrn, given, family, statuses in sorted(rows, key=lambda row: row[0]):
        digest.update(f"{mrn}|{given}|{family}|{','.join(statuses)}\n".encode())
    return digest.hexdigest()[:16]


def totp_key(seed: int, username: str) -> str:
    """The demo authenticator secret: 20 bytes as hex, derived from seed and username
    so that `manage.py demo_totp` and a re-seeded demo agree."""
    return hashlib.sha1(f"{seed}:{username}".encode(), usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class _Names:
    """Name and street pools drawn from a seeded Faker.

    Drawing pools once (Faker's weighted picks cost about 0.1 ms each) and picking
    from them with the seeded Random keeps Faker's name frequencies and the load fast.
    """

    female: tuple[str, ...]
    male: tuple[str, ...]
    nonbinary: tuple[str, ...]
    family: tuple[str, ...]
    streets: tuple[str, ...]


@lru_cache(maxsize=4)
def _names(seed: int) -> _Names:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return _Names(
        female=tuple(fake.first_name_female() for _ in range(600)),
        male=tuple(fake.first_name_male() for _ in range(600)),
        nonbinary=tuple(fake.first_name_nonbinary() for _ in range(200)),
        family=tuple(fake.last_name() for _ in range(1500)),
        streets=tuple(fake.street_name() for _ in range(1500)),
    )


class _Draw:
    """The seeded sources of randomness, and the name pools to pick from."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.uuid_rng = random.Random(f"{seed}:uuid")
        names = _names(seed)
        self.female = names.female
        self.male = names.male
        self.nonbinary = names.nonbinary
        self.any_first = names.female + names.male
        self.family = names.family
        self.streets = names.streets

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.uuid_rng.getrandbits(128), version=4)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def days(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def phone(self) -> str:
        return f"555-{self.rng.randint(200, 999)}-{self.rng.randint(0, 9999):04d}"

    def at(self) -> time:
        return time(self.rng.randint(8, 17), self.rng.choice((0, 10, 15, 20, 30, 40, 45, 50)))


@dataclass(frozen=True)
class _Pools:
    """Staff of each program who can carry each part of the work."""

    counselors: dict[str, list[str]]
    prescribers: dict[str, list[str]]
    case_managers: dict[str, list[str]]
    openers: dict[str, list[str]]
    directors: dict[str, list[str]]


def _pools() -> _Pools:
    def members(program: str, roles: set[str]) -> list[str]:
        return [
            s.username
            for s in STAFF
            if program in s.programs and s.role in roles and s.takes_caseload
        ]

    keys = [p.key for p in PROGRAMS]
    return _Pools(
        counselors={k: members(k, {Role.COUNSELOR, Role.THERAPIST}) for k in keys},
        prescribers={k: members(k, {Role.PRESCRIBER}) for k in keys},
        case_managers={k: members(k, {Role.CASE_MANAGER}) for k in keys},
        openers={k: members(k, {Role.INTAKE_COORDINATOR, Role.FRONT_DESK}) for k in keys},
        directors={k: members(k, {Role.PROGRAM_DIRECTOR}) for k in keys},
    )


def plan_build(*, patients: int, seed: int, today: date) -> DemoPlan:
    """Everything the demo load will create, from the seed alone (and the day)."""
    draw = _Draw(seed)
    pools = _pools()
    staff_ids = {s.username: draw.uuid() for s in STAFF}
    totp_keys = {
        s.username: totp_key(seed, s.username) for s in STAFF if s.username != NO_DEVICE_USERNAME
    }
    statuses = LATEST_STATUS_WEIGHTS.values
    people = []
    for index in range(patients):
        # The first patients show every status, a readmission and an adolescent, so
        # that even a small demo has something of each kind.
        showcase = statuses[index] if index < len(statuses) else None
        people.append(_patient(draw, pools, index, today, showcase_status=showcase))
    return DemoPlan(seed, today, staff_ids, totp_keys, tuple(people))


def _patient(
    draw: _Draw,
    pools: _Pools,
    index: int,
    today: date,
    *,
    showcase_status: str | None,
) -> PatientPlan:
    rng = draw.rng
    program = _PROGRAM_SHARES.pick(rng)
    if index == len(LATEST_STATUS_WEIGHTS.values):
        program = next(p for p in PROGRAMS if p.program_type == ProgramType.ADOLESCENT)
    teen = program.program_type == ProgramType.ADOLESCENT
    age = rng.randint(13, 17) if teen else _adult_age(rng)
    born = _birth_date(today, age, days_since_birthday=rng.randint(0, 363))
    sex = SEX_AT_BIRTH.pick(rng)
    identity = _gender_identity(rng, sex)
    given = _first_name(draw, sex, identity)
    family = rng.choice(draw.family)
    middle = _first_name(draw, sex, identity) if draw.chance(0.4) else ""
    preferred = _preferred_name(draw, given, identity)
    pronouns = _pronouns(draw, identity)
    city, zip3 = _CITY_SHARES.pick(rng)
    has_address = draw.chance(0.92)
    phone = draw.phone() if draw.chance(0.88) else ""
    email = ""
    if draw.chance(0.6):
        local = "".join(ch for ch in f"{given}.{family}".lower() if ch.isalpha() or ch == ".")
        suffix = str(rng.randint(1, 99)) if draw.chance(0.5) else ""
        email = f"{local}{suffix}@{rng.choice(('example.org', 'example.com'))}"
    latest_status = showcase_status or LATEST_STATUS_WEIGHTS.pick(rng)
    readmitted = index == 1 or draw.chance(READMISSION_SHARE)
    latest = _episode(draw, pools, program.key, latest_status, today, end_after=0)
    episodes = [latest]
    if readmitted:
        earlier_program = program.key
        if not teen and draw.chance(0.3):
            earlier_program = rng.choice(
                [p.key for p in PROGRAMS if p.program_type != ProgramType.ADOLESCENT]
            )
        discharged = draw.chance(0.85) or index == 1
        before_status = EpisodeStatus.DISCHARGED if discharged else EpisodeStatus.CANCELLED
        gap = (today - latest.referred_on).days + draw.days(30, 150 if teen else 400)
        episodes.insert(0, _episode(draw, pools, earlier_program, before_status, today, gap))
    patient_name = f"{given} {family}"
    return PatientPlan(
        public_id=draw.uuid(),
        mrn=mrn_format(index + 1, MRN_PREFIX),
        legal_given_name=given,
        legal_middle_name=middle,
        legal_family_name=family,
        preferred_name=preferred,
        pronouns=pronouns,
        date_of_birth=born,
        sex_at_birth=sex,
        gender_identity=identity,
        phone=phone,
        email=email,
        address_line1=f"{rng.randint(100, 19999)} {rng.choice(draw.streets)}"
        if has_address
        else "",
        address_line2=f"Apt {rng.randint(1, 40)}{rng.choice('ABCD')}"
        if has_address and draw.chance(0.25)
        else "",
        city=city if has_address else "",
        state=STATE if has_address else "",
        postal_code=f"{zip3}{rng.randint(0, 99):02d}" if has_address else "",
        preferred_language=LANGUAGES.pick(rng),
        episodes=tuple(episodes),
        coverages=_coverages(draw, age, teen, family, patient_name, episodes[0].referred_on),
        contacts=_contacts(draw, teen, family),
    )


def _birth_date(today: date, age: int, days_since_birthday: int) -> date:
    """A date of birth that makes someone exactly `age` on `today`."""
    last_birthday = today - timedelta(days=days_since_birthday)
    year = last_birthday.year - age
    if last_birthday.month == 2 and last_birthday.day == 29 and year % 4:
        return date(year, 2, 28)
    return last_birthday.replace(year=year)


def _adult_age(rng: random.Random) -> int:
    # IOP populations are mostly 25-45; a tail to 70.
    return min(70, max(18, round(rng.gauss(36, 11))))


def _gender_identity(rng: random.Random, sex: str) -> str:
    if sex in GENDER_IDENTITY_BY_SEX:
        return str(GENDER_IDENTITY_BY_SEX[sex].pick(rng))
    if sex == SexAtBirth.INTERSEX:
        return str(rng.choice((GenderIdentity.WOMAN, GenderIdentity.MAN, GenderIdentity.NONBINARY)))
    return str(rng.choice(("", GenderIdentity.DECLINED, GenderIdentity.UNKNOWN)))


def _first_name(draw: _Draw, sex: str, identity: str) -> str:
    if sex == SexAtBirth.FEMALE:
        return draw.rng.choice(draw.female)
    if sex == SexAtBirth.MALE:
        return draw.rng.choice(draw.male)
    pool = {GenderIdentity.WOMAN: draw.female, GenderIdentity.MAN: draw.male}.get(
        GenderIdentity(identity) if identity else GenderIdentity.UNKNOWN, draw.nonbinary
    )
    return draw.rng.choice(pool)


def _preferred_name(draw: _Draw, given: str, identity: str) -> str:
    chosen_pool = {
        GenderIdentity.TRANSGENDER_WOMAN: draw.female,
        GenderIdentity.TRANSGENDER_MAN: draw.male,
        GenderIdentity.NONBINARY: draw.nonbinary,
    }.get(GenderIdentity(identity) if identity else GenderIdentity.UNKNOWN)
    if chosen_pool is not None and draw.chance(0.7):
        name = draw.rng.choice(chosen_pool)
        return name if name != given else ""
    if given in NICKNAMES and draw.chance(0.35):
        return NICKNAMES[given]
    return ""


def _pronouns(draw: _Draw, identity: str) -> str:
    by_identity = {
        GenderIdentity.WOMAN: ("she/her",),
        GenderIdentity.TRANSGENDER_WOMAN: ("she/her",),
        GenderIdentity.MAN: ("he/him",),
        GenderIdentity.TRANSGENDER_MAN: ("he/him",),
        GenderIdentity.NONBINARY: ("they/them", "they/them", "she/they", "he/they"),
    }
    options = by_identity.get(GenderIdentity(identity)) if identity else None
    if options is None:
        return ""
    share = 0.35 if identity in {GenderIdentity.WOMAN, GenderIdentity.MAN} else 0.9
    return draw.rng.choice(options) if draw.chance(share) else ""


def _episode(
    draw: _Draw, pools: _Pools, program: str, status: str, today: date, end_after: int
) -> EpisodePlan:
    """One episode ending in `status`, its events walking the allowed transitions.

    Dates are counted in days before `today`; the episode's last change happens at
    least `end_after` days ago (an earlier stay ends before the next referral)."""
    rng = draw.rng
    opener = rng.choice(pools.openers[program])
    counselor = rng.choice(pools.counselors[program])
    director = rng.choice(pools.directors[program])
    steps: list[tuple[str, int, str, str]] = []  # (to_status, days ago, by, reason)
    admitted_ago = ended_ago = None
    if status == EpisodeStatus.REFERRED:
        referred_ago = end_after + draw.days(0, 13)
    elif status == EpisodeStatus.SCREENING:
        referred_ago = end_after + draw.days(2, 20)
        steps.append((EpisodeStatus.SCREENING, referred_ago - draw.days(1, 2), opener, ""))
    elif status == EpisodeStatus.CANCELLED:
        ended_ago = end_after + draw.days(1, 300)
        wait = draw.days(1, 25)
        referred_ago = ended_ago + wait
        if wait >= 2 and draw.chance(0.5):
            steps.append(
                (EpisodeStatus.SCREENING, referred_ago - draw.days(1, wait - 1), opener, "")
            )
        steps.append((EpisodeStatus.CANCELLED, ended_ago, opener, CANCEL_REASONS.pick(rng)))
    else:  # active or discharged
        if status == EpisodeStatus.DISCHARGED:
            ended_ago = end_after + draw.days(3, 365)
            admitted_ago = ended_ago + draw.days(14, 95)
        else:
            admitted_ago = end_after + draw.days(0, 69)
        wait = draw.days(2, 20)
        referred_ago = admitted_ago + wait
        if draw.chance(0.7):
            steps.append(
                (EpisodeStatus.SCREENING, referred_ago - draw.days(1, wait - 1), opener, "")
            )
        steps.append((EpisodeStatus.ACTIVE, admitted_ago, rng.choice((counselor, director)), ""))
        if ended_ago is not None:
            steps.append(
                (EpisodeStatus.DISCHARGED, ended_ago, counselor, DISCHARGE_REASONS.pick(rng))
            )

    opened_as = EpisodeStatus.REFERRED
    if steps and steps[0][0] == EpisodeStatus.SCREENING and draw.chance(0.3):
        # Opened directly as screening (the intake call was the screening).
        opened_as = EpisodeStatus.SCREENING
        steps[0] = (steps[0][0], referred_ago, opener, "")
    step_up_ago = None
    if admitted_ago is not None and admitted_ago - (ended_ago or 0) >= 10 and draw.chance(0.05):
        # A step up while in care (more hours a week), some days into the stay.
        step_up_ago = admitted_ago - draw.days(3, admitted_ago - (ended_ago or 0) - 1)
    referred_on = today - timedelta(days=referred_ago)
    timeline = _Timeline(draw, today)
    timeline.add(
        referred_ago,
        opener,
        EpisodeEvent.Kind.OPENED,
        to_status=opened_as,
        to_level=LevelOfCare.L2_1,
    )
    current = str(opened_as)
    level = str(LevelOfCare.L2_1)
    prescriber = case_manager = primary = ""
    for to_status, ago, by, reason in steps:
        if to_status == current:
            continue
        assert episode_rules.transition_allowed(current, to_status), (current, to_status)
        timeline.add(
            ago,
            by,
            EpisodeEvent.Kind.STATUS,
            from_status=current,
            to_status=to_status,
            reason=reason,
        )
        current = str(to_status)
        if to_status == EpisodeStatus.ACTIVE:
            primary = counselor
            prescriber = rng.choice(pools.prescribers[program])
            managers = pools.case_managers[program]
            case_manager = rng.choice(managers) if managers and draw.chance(0.7) else ""
            team = ["primary_counselor", "prescriber"] + (["case_manager"] if case_manager else [])
            timeline.add(ago, director, EpisodeEvent.Kind.CARE_TEAM, reason=", ".join(sorted(team)))
            if step_up_ago is not None:
                timeline.add(
                    step_up_ago,
                    counselor,
                    EpisodeEvent.Kind.LEVEL_OF_CARE,
                    from_level=level,
                    to_level=LevelOfCare.L2_5,
                    reason=LEVEL_UP_REASON,
                )
                level = str(LevelOfCare.L2_5)
    assert current == status, (current, status)
    return EpisodePlan(
        public_id=draw.uuid(),
        program=program,
        status=status,
        level_of_care=level,
        referred_on=referred_on,
        admitted_on=today - timedelta(days=admitted_ago) if admitted_ago is not None else None,
        ended_on=today - timedelta(days=ended_ago) if ended_ago is not None else None,
        primary_counselor=primary,
        prescriber=prescriber,
        case_manager=case_manager,
        events=tuple(timeline.events),
    )


class _Timeline:
    """An episode's events in order: a later event on the same day gets a later time."""

    def __init__(self, draw: _Draw, today: date) -> None:
        self.draw = draw
        self.today = today
        self.events: list[EventPlan] = []

    def add(self, days_ago: int, by: str, kind: str, **change: str) -> None:
        day = self.today - timedelta(days=days_ago)
        at = self.draw.at()
        if self.events:
            last = self.events[-1]
            assert day >= last.effective_on, "events out of order"
            if day == last.effective_on and at <= last.at:
                later = datetime.combine(day, last.at) + timedelta(minutes=5)
                at = later.time()
        self.events.append(EventPlan(kind, day, at, by, **change))


_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"  # letters a Medicare Beneficiary Identifier uses


def _member_id(draw: _Draw, plan_type: str) -> str:
    rng = draw.rng
    digit = "0123456789"
    if plan_type == PlanType.MEDICARE:  # the 11-character MBI pattern, made up
        pattern = ("C", "A", "X", "N", "A", "X", "N", "A", "A", "N", "N")
        pools = {"C": "123456789", "A": _MBI_LETTERS, "N": digit, "X": _MBI_LETTERS + digit}
        return "".join(rng.choice(pools[kind]) for kind in pattern)
    if plan_type == PlanType.MEDICAID:
        return f"{rng.choice('ABCDEFGHJK')}{rng.choice('ABCDEFGHJK')}{rng.randint(0, 999999):06d}"
    return f"{rng.choice(('SSH', 'PCM'))}{rng.randint(0, 999_999_999):09d}"


def _coverages(
    draw: _Draw, age: int, teen: bool, family: str, patient_name: str, first_referred: date
) -> tuple[CoveragePlan, ...]:
    rng = draw.rng
    roll = rng.random()
    if age >= 65:
        kind = "medicare" if roll < 0.85 else "summit"
    elif teen:
        kind = "cascade" if roll < 0.55 else ("summit" if roll < 0.8 else "pacific")
    else:
        kind = (
            "cascade"
            if roll < 0.48
            else "summit"
            if roll < 0.66
            else "pacific"
            if roll < 0.8
            else "medicare"
            if roll < 0.83  # under 65 with a disability
            else "self_pay"
            if roll < 0.91
            else ""
        )
    if not kind:
        return ()
    start = first_referred - timedelta(days=draw.days(30, 2000))
    plans: list[CoveragePlan] = []
    if kind != "self_pay" and draw.chance(0.1):
        # An older plan that ended when this one began.
        old_kind = "pacific" if kind != "pacific" else "summit"
        plans.append(
            _coverage(
                draw,
                old_kind,
                teen,
                family,
                patient_name,
                start - timedelta(days=draw.days(200, 900)),
                start - timedelta(days=1),
                CoverageStatus.ENDED,
                1,
            )
        )
    plans.append(
        _coverage(draw, kind, teen, family, patient_name, start, None, CoverageStatus.ACTIVE, 1)
    )
    if kind == "medicare" and draw.chance(0.3):  # dually eligible: Medicaid pays second
        plans.append(
            _coverage(
                draw, "cascade", teen, family, patient_name, start, None, CoverageStatus.ACTIVE, 2
            )
        )
    return tuple(plans)


def _coverage(
    draw: _Draw,
    kind: str,
    teen: bool,
    family: str,
    patient_name: str,
    start: date,
    end: date | None,
    status: str,
    priority: int,
) -> CoveragePlan:
    rng = draw.rng
    if kind == "self_pay":
        return CoveragePlan(
            draw.uuid(),
            "",
            PlanType.SELF_PAY,
            "",
            "",
            patient_name,
            SubscriberRelationship.SELF,
            start,
            None,
            priority,
            status,
        )
    payer = next(p for p in PAYERS if p.key == kind)
    relationship = SubscriberRelationship.SELF
    subscriber = patient_name
    if payer.plan_type == PlanType.PRIVATE:
        if teen:
            relationship = SubscriberRelationship.CHILD
            subscriber = f"{rng.choice(draw.any_first)} {family}"
        elif draw.chance(0.25):
            relationship = SubscriberRelationship.SPOUSE
            subscriber = f"{rng.choice(draw.any_first)} {rng.choice(draw.family)}"
    group = f"G{rng.randint(10000, 99999)}" if payer.plan_type == PlanType.PRIVATE else ""
    return CoveragePlan(
        public_id=draw.uuid(),
        payer=payer.key,
        plan_type=payer.plan_type,
        member_id=_member_id(draw, payer.plan_type),
        group_number=group,
        subscriber_name=subscriber,
        relationship_to_subscriber=relationship,
        effective_start=start,
        effective_end=end,
        priority=priority,
        status=status,
    )


def _contacts(draw: _Draw, teen: bool, family: str) -> tuple[ContactPlan, ...]:
    rng = draw.rng
    if not teen and not draw.chance(0.82):
        return ()
    contacts = []
    for _ in range(2 if draw.chance(0.15) else 1):
        relationship = (TEEN_CONTACTS if teen else ADULT_CONTACTS).pick(rng)
        first = rng.choice(draw.female if relationship in _FEMALE_KIN else draw.any_first)
        same_family = relationship in _FAMILY or (teen and relationship != "Legal guardian")
        last = family if same_family and draw.chance(0.8) else rng.choice(draw.family)
        contacts.append(ContactPlan(draw.uuid(), f"{first} {last}", relationship, draw.phone()))
    return tuple(contacts)


_FEMALE_KIN = {"Mother", "Sister", "Aunt", "Grandmother"}
_FAMILY = {"Mother", "Father", "Sister", "Brother", "Adult child", "Aunt", "Grandmother"}


# --- Writing the plan -----------------------------------------------------------------


@dataclass
class LoadSummary:
    staff: int = 0
    patients: int = 0
    episodes: int = 0
    events: int = 0
    coverages: int = 0
    contacts: int = 0


@dataclass(frozen=True)
class _Keys:
    """Primary keys of the organization's rows, by plan key or username."""

    organization: int
    programs: dict[str, int]
    payers: dict[str, int]
    staff: dict[str, int]


def _fixed_uuid(seed: int, name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"openiop-demo:{seed}:{name}")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building ~100,000 model instances sets off the cyclic garbage collector again
    and again over a heap that only grows; pausing it saves about a quarter of the load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@transaction.atomic
def plan_load(plan: DemoPlan) -> LoadSummary:
    """Create the organization, staff and patients of a plan, with one audit event.

    Patients go in chunks of BATCH_SIZE, each chunk with its episodes, events,
    coverage and contacts: a few INSERTs per chunk and no query per row."""
    summary = LoadSummary()
    with _gc_paused():
        keys = _organization_load(plan, summary)
        for start in range(0, len(plan.patients), BATCH_SIZE):
            _patients_load(plan.patients[start : start + BATCH_SIZE], keys, summary)
    MrnSequence.objects.update_or_create(
        organization_id=keys.organization, defaults={"last_number": len(plan.patients)}
    )
    audit_record(
        actor=None,
        action=AuditAction.CREATE,
        object_type="demo_data",
        detail={"patients": len(plan.patients), "seed": plan.seed},
    )
    return summary


def _organization_load(plan: DemoPlan, summary: LoadSummary) -> _Keys:
    seed = plan.seed
    org = Organization.objects.create(
        name=ORGANIZATION_NAME, mrn_prefix=MRN_PREFIX, public_id=_fixed_uuid(seed, "org")
    )
    sites = {
        s.key: Site(
            organization=org,
            public_id=_fixed_uuid(seed, f"site:{s.key}"),
            name=s.name,
            address=s.address,
            phone=s.phone,
        )
        for s in SITES
    }
    Site.objects.bulk_create(sites.values())
    programs = {
        p.key: Program(
            site=sites[p.site],
            public_id=_fixed_uuid(seed, f"program:{p.key}"),
            name=p.name,
            program_type=p.program_type,
            level_of_care=LevelOfCare.L2_1,
        )
        for p in PROGRAMS
    }
    Program.objects.bulk_create(programs.values())
    payers = {
        p.key: Payer(
            organization=org,
            public_id=_fixed_uuid(seed, f"payer:{p.key}"),
            name=p.name,
            payer_code=p.payer_code,
            plan_type=p.plan_type,
        )
        for p in PAYERS
    }
    Payer.objects.bulk_create(payers.values())
    # The level-of-care EXAMPLE table (not ASAM's), so the demo can recommend levels;
    # the load's one audit event covers it.
    from openiop.assessments.services import level_table_load_example

    level_table_load_example(organization=org, audit=False)

    # One hash for everyone: the demo password is public, and Argon2 costs ~0.1 s a hash.
    password = make_password(DEMO_PASSWORD)
    staff = {
        s.username: User(
            username=s.username,
            public_id=plan.staff_public_ids[s.username],
            first_name=s.first_name,
            last_name=s.last_name,
            email=f"{s.username}@example.org",
            role=s.role,
            credentials=s.credentials,
            is_trainee=s.is_trainee,
            is_staff=s.is_staff,
            organization=org,
            password=password,
        )
        for s in STAFF
    }
    User.objects.bulk_create(staff.values())
    ProgramMembership.objects.bulk_create(
        ProgramMembership(user=staff[s.username], program=programs[key])
        for s in STAFF
        for key in s.programs
    )
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user=staff[username], name="Authenticator app", confirmed=True, key=key)
        for username, key in plan.totp_keys.items()
    )
    summary.staff = len(staff)
    return _Keys(
        organization=org.pk,
        programs={key: program.pk for key, program in programs.items()},
        payers={key: payer.pk for key, payer in payers.items()},
        staff={username: user.pk for username, user in staff.items()},
    )


def _patients_load(chunk: Sequence[PatientPlan], keys: _Keys, summary: LoadSummary) -> None:
    patients = Patient.objects.bulk_create(_patient_row(keys.organization, p) for p in chunk)
    episodes: list[tuple[Episode, EpisodePlan]] = []
    coverages: list[Coverage] = []
    contacts: list[EmergencyContact] = []
    for patient, p in zip(patients, chunk, strict=True):
        episodes.extend((_episode_row(patient.pk, keys, e), e) for e in p.episodes)
        coverages.extend(
            Coverage(
                patient_id=patient.pk,
                public_id=c.public_id,
                payer_id=keys.payers.get(c.payer),
                plan_type=c.plan_type,
                member_id=c.member_id,
                group_number=c.group_number,
                subscriber_name=c.subscriber_name,
                relationship_to_subscriber=c.relationship_to_subscriber,
                effective_start=c.effective_start,
                effective_end=c.effective_end,
                priority=c.priority,
                status=c.status,
            )
            for c in p.coverages
        )
        contacts.extend(
            EmergencyContact(
                patient_id=patient.pk,
                public_id=c.public_id,
                name=c.name,
                relationship=c.relationship,
                phone=c.phone,
            )
            for c in p.contacts
        )
    Episode.objects.bulk_create([row for row, _ in episodes])
    events = [
        EpisodeEvent(
            episode_id=row.pk,
            kind=ev.kind,
            from_status=ev.from_status,
            to_status=ev.to_status,
            from_level=ev.from_level,
            to_level=ev.to_level,
            effective_on=ev.effective_on,
            reason=ev.reason,
            changed_by_id=keys.staff[ev.changed_by],
            changed_at=_aware(ev.effective_on, ev.at),
        )
        for row, e in episodes
        for ev in e.events
    ]
    EpisodeEvent.objects.bulk_create(events)
    Coverage.objects.bulk_create(coverages)
    EmergencyContact.objects.bulk_create(contacts)
    summary.patients += len(patients)
    summary.episodes += len(episodes)
    summary.events += len(events)
    summary.coverages += len(coverages)
    summary.contacts += len(contacts)


def _aware(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=timezone.get_current_timezone())


def _patient_row(organization_id: int, p: PatientPlan) -> Patient:
    return Patient(
        organization_id=organization_id,
        public_id=p.public_id,
        mrn=p.mrn,
        legal_given_name=p.legal_given_name,
        legal_middle_name=p.legal_middle_name,
        legal_family_name=p.legal_family_name,
        preferred_name=p.preferred_name,
        pronouns=p.pronouns,
        date_of_birth=p.date_of_birth,
        sex_at_birth=p.sex_at_birth,
        gender_identity=p.gender_identity,
        phone=p.phone,
        phone_digits=phone_digits(p.phone),
        email=p.email,
        address_line1=p.address_line1,
        address_line2=p.address_line2,
        city=p.city,
        state=p.state,
        postal_code=p.postal_code,
        preferred_language=p.preferred_language,
    )


def _episode_row(patient_id: int, keys: _Keys, e: EpisodePlan) -> Episode:
    return Episode(
        patient_id=patient_id,
        program_id=keys.programs[e.program],
        public_id=e.public_id,
        status=e.status,
        level_of_care=e.level_of_care,
        referred_on=e.referred_on,
        admitted_on=e.admitted_on,
        ended_on=e.ended_on,
        primary_counselor_id=keys.staff.get(e.primary_counselor),
        prescriber_id=keys.staff.get(e.prescriber),
        case_manager_id=keys.staff.get(e.case_manager),
        version=len(e.events),
    )


class Command(BaseCommand):
    help = (
        "Create a synthetic demo organization with staff in every role and N patients "
        "(demo mode only). The same seed gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, default=120, help="How many patients.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for every random choice.")
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any patient already exists (for make run).",
        )
        parser.add_argument(
            "--today",
            type=date.fromisoformat,
            default=None,
            help="Place dates relative to this day (YYYY-MM-DD) instead of today.",
        )
        parser.add_argument(
            "--allow-non-demo",
            action="store_true",
            help="Benchmark use only: load even when DEMO_MODE is off (never in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["allow_non_demo"]:
            if settings.PRODUCTION:
                raise CommandError("Refused: --allow-non-demo is not available in production.")
        else:
            require_demo_mode()
        count: int = options["patients"]
        if not 0 <= count <= 9_999_999:
            raise CommandError("--patients must be between 0 and 9,999,999.")
        if options["if_empty"] and Patient.objects.exists():
            self.stdout.write("demo_data: patients already exist; nothing to do (--if-empty).")
            return
        taken = sorted(
            User.objects.filter(username__in=[s.username for s in STAFF]).values_list(
                "username", flat=True
            )
        )
        if taken:
            raise CommandError(
                "Refused: demo accounts already exist (" + ", ".join(taken) + "). "
                "Load demo data into an empty database."
            )
        started = clock.perf_counter()
        plan = plan_build(
            patients=count, seed=options["seed"], today=options["today"] or timezone.localdate()
        )
        planned = clock.perf_counter()
        summary = plan_load(plan)
        finished = clock.perf_counter()
        self.stdout.write(
            f"demo_data: {summary.patients} patients, {summary.episodes} episodes, "
            f"{summary.events} episode events, {summary.coverages} coverages, "
            f"{summary.contacts} contacts, {summary.staff} staff "
            f"(seed {plan.seed}, fingerprint {plan.fingerprint()})"
        )
        self.stdout.write(
            f"demo_data: took {finished - started:.1f} s "
            f"(plan {planned - started:.1f} s, database {finished - planned:.1f} s)"
        )
