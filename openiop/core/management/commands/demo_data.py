"""Build a synthetic demo organization: staff in every role, and N patients with
episodes and their history, coverage and emergency contacts.

Two steps. `plan_build` decides everything from the seed (pure: no ORM, no clock;
the day is passed in), so the same seed gives the same people, MRNs and statuses;
dates are placed relative to the given day so that a demo always looks current.
`plan_load` writes the plan with bulk inserts in one transaction and one audit
event, which is what makes 10,000 patients take seconds rather than minutes.

The intake showcase (`_showcase`) adds, for a bounded subset only so that the load
time does not grow with N: referrals in every stage of the pipeline, with contact
attempts and stage history; for up to SHOWCASE_LIMIT active patients of the first
site, scored instruments (PHQ-9, GAD-7, AUDIT, DAST-10), the three admission consents
and some Part 2 and family ROI consents, a completed biopsychosocial assessment,
ICD-10-CM diagnoses, a level-of-care assessment and the admission; and one open
suicide-risk alert with its task, notifications and safety plan. The rows are what the
services would store (the same pure rules, scoring engine and consent text), written
in bulk under the load's one audit event rather than through the audited services.

Synthetic data only: names and streets come from Faker, phone numbers are 555
numbers, email addresses are at example.org and example.com.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import random
import time as clock
import uuid
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_otp.plugins.otp_totp.models import TOTPDevice
from faker import Faker

from openiop.accounts.models import ProgramMembership, User
from openiop.accounts.roles import Perm, Role, role_has
from openiop.alerts.models import Alert, AlertKind, Notification, Task
from openiop.assessments import icd10
from openiop.assessments import rules as assessment_rules
from openiop.assessments.models import (
    AssessmentStatus,
    BiopsychosocialAssessment,
    Diagnosis,
    DiagnosisRank,
    LevelOfCareAssessment,
    OverrideReason,
    SubstanceUse,
    TreatmentHistory,
)
from openiop.audit.models import AuditAction
from openiop.audit.services import audit_record
from openiop.consents import rules as consent_rules
from openiop.consents.models import (
    Consent,
    ConsentEvent,
    ConsentKind,
    ConsentStatus,
    ExpiryEvent,
    RecipientClass,
    RevocationMethod,
    SignatureMethod,
)
from openiop.consents.services import _content_fields, consent_text, discloser_name_for
from openiop.core.demo import DEMO_PASSWORD, require_demo_mode
from openiop.episodes import rules as episode_rules
from openiop.episodes.models import Episode, EpisodeEvent, EpisodeStatus
from openiop.instruments import ScoreResult, check_answers, get_definition, score
from openiop.intake import rules as intake_rules
from openiop.intake.models import (
    Admission,
    ContactMethod,
    Referral,
    ReferralContactAttempt,
    ReferralEvent,
)
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
from openiop.patients.rules import age_on, mrn_format, phone_digits
from openiop.screening import rules as screening_rules
from openiop.screening.models import (
    AdministrationStatus,
    InstrumentAdministration,
    SafetyPlan,
    SafetyPlanStatus,
)
from openiop.screening.selectors import ADMINISTRATION_SOURCE

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
    showcase: ShowcasePlan

    def fingerprint(self) -> str:
        return fingerprint(
            (
                (
                    p.mrn,
                    p.legal_given_name,
                    p.legal_family_name,
                    tuple(e.status for e in p.episodes),
                )
                for p in self.patients
            ),
            counts=self.showcase.counts(),
        )


def fingerprint(
    rows: Iterable[tuple[str, str, str, Sequence[str]]], counts: Mapping[str, int] | None = None
) -> str:
    """A short digest of (MRN, given name, family name, episode statuses) rows and of
    the showcase's row counts: the same for the same seed on any day and machine
    (dates are left out on purpose)."""
    digest = hashlib.sha256()
    for mrn, given, family, statuses in sorted(rows, key=lambda row: row[0]):
        digest.update(f"{mrn}|{given}|{family}|{','.join(statuses)}\n".encode())
    for name, count in sorted((counts or {}).items()):
        digest.update(f"{name}={count}\n".encode())
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

    def __init__(self, seed: int, stream: str = "") -> None:
        # A named stream draws apart from the people, so adding to it never changes them.
        self.rng = random.Random(f"{seed}:{stream}" if stream else seed)
        self.uuid_rng = random.Random(f"{seed}:{stream}:uuid" if stream else f"{seed}:uuid")
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
    with _gc_paused():  # the plan only grows: nothing for the cyclic collector to free
        for index in range(patients):
            # The first patients show every status, a readmission and an adolescent, so
            # that even a small demo has something of each kind.
            status = statuses[index] if index < len(statuses) else None
            people.append(_patient(draw, pools, index, today, showcase_status=status))
        showcase = _showcase(_Draw(seed, "intake"), pools, people, today)
    return DemoPlan(seed, today, staff_ids, totp_keys, tuple(people), showcase)


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


# --- The intake showcase: decided from the seed, for a bounded subset -----------------

SHOWCASE_SITE = "main"
SHOWCASE_LIMIT = 150  # active first-site patients given instruments, consents, assessments
LINKED_PER_PROGRAM = 2  # referrals registered as patients now referred or in screening
ADMITTED_PER_PROGRAM = 2  # referrals that reached "admitted", per first-site program
REOPENED = "reopened"  # a free referral declined, then reopened to "contacted"
# Referrals not (yet) registered as patients, by the stage they have reached.
FREE_REFERRALS: tuple[tuple[str, int], ...] = (
    ("new", 8),
    ("contacted", 6),
    ("screening_scheduled", 5),
    ("assessed", 4),
    ("offered_admission", 4),
    ("declined", 4),
    ("referred_elsewhere", 3),
    ("unable_to_reach", 4),
    (REOPENED, 2),
)
FOLLOW_UP_DAYS = 14  # PHQ-9 and GAD-7 at admission, then about every two weeks
SIGNER_ADDRESS_PREFIX = "192.0.2."  # TEST-NET-1 (RFC 5737): documentation addresses only
SIGNER_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chromium (OpenIOP demo intake tablet)"


@dataclass(frozen=True)
class _Track:
    """How a program admits: the track's free-text name and its schedule."""

    name: str
    schedule: str
    substance_use: bool  # SUD program: AUDIT / DAST-10, a Part 2 consent


TRACKS = {
    "sud_am": _Track("Day SUD (mornings)", "day", True),
    "mh_pm": _Track("Evening mental health", "evening", False),
    "dual": _Track("Day dual diagnosis", "day", True),
    "teen": _Track("Adolescent (after school)", "evening", True),
    "sud_east": _Track("Evening SUD", "evening", True),
}

# The ICD-10-CM codes the demo records, with the code set's own descriptions; a test
# checks each against openiop.assessments.icd10 (billable, same text), so the load
# need not build the code-set index (seconds on a fresh data directory).
ICD10_DESCRIPTIONS: dict[str, str] = {
    "F10.20": "Alcohol dependence, uncomplicated",
    "F11.20": "Opioid dependence, uncomplicated",
    "F12.20": "Cannabis dependence, uncomplicated",
    "F14.20": "Cocaine dependence, uncomplicated",
    "F15.20": "Other stimulant dependence, uncomplicated",
    "F32.1": "Major depressive disorder, single episode, moderate",
    "F33.1": "Major depressive disorder, recurrent, moderate",
    "F41.0": "Panic disorder [episodic paroxysmal anxiety]",
    "F41.1": "Generalized anxiety disorder",
    "F43.10": "Post-traumatic stress disorder, unspecified",
    "F43.12": "Post-traumatic stress disorder, chronic",
}
SUD_DIAGNOSES = _Weighted(
    ("F10.20", 40), ("F11.20", 25), ("F15.20", 14), ("F12.20", 13), ("F14.20", 8)
)
MH_DIAGNOSES = _Weighted(
    ("F32.1", 24), ("F41.1", 24), ("F33.1", 20), ("F43.10", 14), ("F41.0", 12), ("F43.12", 6)
)
# Substance use history rows by SUD code: (substance, routes, frequencies, amounts).
SUBSTANCES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "F10.20": (
        "alcohol",
        ("oral",),
        ("daily", "several_weekly"),
        ("6-8 beers", "a fifth of vodka over two days", "a bottle of wine most nights"),
    ),
    "F11.20": (
        "fentanyl",
        ("smoked", "injected"),
        ("several_daily", "daily"),
        ("about 1 g a day", "10-15 pills a day"),
    ),
    "F15.20": ("methamphetamine", ("smoked",), ("daily", "several_weekly"), ("0.5 g", "1 g")),
    "F12.20": (
        "cannabis",
        ("smoked", "inhaled"),
        ("several_daily", "daily"),
        ("a gram a day", "a vape cartridge every two days"),
    ),
    "F14.20": ("cocaine", ("intranasal", "smoked"), ("several_weekly", "weekly"), ("1-2 g",)),
}
PRESENTING: dict[str, tuple[str, ...]] = {
    "F10.20": (
        "Drinking most days since a divorce last year; a warning at work after two missed shifts.",
        "Second DUII this year; drinking in the morning to stop the shakes.",
    ),
    "F11.20": (
        "Fentanyl use for two years; one overdose reversed with naloxone in the spring.",
        "Prescription opioids after a back injury, then fentanyl; wants to stay on buprenorphine.",
    ),
    "F15.20": ("Daily methamphetamine use; not sleeping, lost housing three months ago.",),
    "F12.20": ("Cannabis from waking to bedtime; failed a pre-employment screen.",),
    "F14.20": ("Cocaine on weekends turning into weekdays; spending the rent money.",),
    "MH": (
        "Low mood and poor sleep for months; stopped going out and fell behind at work.",
        "Panic attacks on the bus and at work; weekly therapy has not been enough.",
        "Nightmares and irritability since an assault; avoiding people and places.",
        "Worrying all day about money and family; headaches, cannot concentrate.",
    ),
}
GOALS = (
    "I want to stay sober for my kids and get my license back.",
    "Get through a month without using and keep my job.",
    "Sleep through the night and feel like myself again.",
    "Be able to ride the bus to work without a panic attack.",
    "Stop drinking during the week and repair things with my partner.",
    "Find a place to live and stay clean.",
)
STRENGTHS = (
    "Close to a sister who supports treatment; steady work history.",
    "Motivated by children; attends church; good sense of humour.",
    "Has stayed sober for a year before; knows what helped.",
    "Supportive employer; likes cooking and running.",
)
HOUSING = (
    "Rents an apartment with a partner.",
    "Stays with a parent for now.",
    "Own home, lives alone.",
    "Staying on a friend's couch; on a housing waitlist.",
)
EMPLOYMENT = (
    "Works full time in a warehouse (day shift).",
    "Part-time retail; wants more hours.",
    "Nurse's aide, on leave.",
    "Unemployed since the spring; looking for work.",
)
READINESS = _Weighted(("contemplation", 25), ("preparation", 40), ("action", 35))
SOURCES = _Weighted(
    ("self", 22),
    ("family", 12),
    ("primary_care", 16),
    ("hospital", 14),
    ("detox", 12),
    ("residential", 6),
    ("court", 8),
    ("employer", 5),
    ("school", 2),
    ("other", 3),
)
REFERRING_ORGANIZATIONS = {
    "primary_care": ("Northgate Family Medicine", "Cedar Park Community Clinic"),
    "hospital": ("Harbor View Hospital emergency department", "Riverbend General Hospital"),
    "detox": ("Pinecrest Withdrawal Management Center",),
    "residential": ("Summit Ridge Residential Treatment",),
    "court": ("Eastside Treatment Court",),
    "employer": ("Acme Logistics employee assistance program",),
    "school": ("Lincoln Valley High School counseling office",),
    "other": ("Open Door Housing Services",),
}
REFERRAL_REASONS = {
    "sud": (
        "Alcohol use escalating after a job loss.",
        "Opioid use disorder on buprenorphine; stepping down after detox.",
        "Methamphetamine use most days; wants help to stop.",
        "Drinking daily, two DUIIs; family worried.",
        "Stepping down from residential treatment; needs IOP to continue recovery.",
    ),
    "mh": (
        "Depression not improving with weekly therapy; stopped working.",
        "Panic attacks and agoraphobia; discharged from the emergency department.",
        "PTSD symptoms after an assault; sleeping two hours a night.",
    ),
    "dual": (
        "Depression and alcohol use; drinking to sleep.",
        "Anxiety and cannabis dependence; wants to stop both.",
    ),
    "teen": (
        "Vaping cannabis daily; failing classes.",
        "Alcohol at parties most weekends; school suspension.",
    ),
}
DECLINE_REASONS = (
    "Cannot take time off work for a day program; will call back about evenings.",
    "Chose a program closer to home.",
    "Not ready to stop drinking yet.",
    "Co-pay too high; asked about the sliding fee later.",
)
ELSEWHERE_REASONS = (
    "Needs medically monitored withdrawal first; referred to Pinecrest Withdrawal "
    "Management Center.",
    "Needs residential care (3.5); referred to Summit Ridge Residential Treatment.",
    "Better served by weekly outpatient therapy; referred to Cedar Park Community Clinic.",
)
REOPEN_REASONS = (
    "Called back: now ready to start, and can attend evenings.",
    "Her employer agreed to a schedule change; wants to start.",
)
RATIONALES: dict[int, tuple[str, ...]] = {
    1: ("Last drink two days ago; mild tremor, no seizure history; CIWA 9.",),
    2: ("Hypertension, controlled on medication.",),
    3: (
        "Depressed mood and poor sleep; no psychosis; passive thoughts denied today.",
        "Daily panic symptoms limit work and travel.",
    ),
    4: ("Ambivalent about stopping; agrees to try the program for a month.",),
    5: (
        "Returned to use within days of each past attempt; strong cravings at night.",
        "Relapsed twice after outpatient treatment last year.",
    ),
    6: (
        "Partner drinks at home; few sober supports.",
        "Unstable housing; friends still using.",
    ),
}
OVERRIDE_NOTES = (
    "Works days; agreed to the IOP with a weekly individual session and will step up if "
    "symptoms worsen.",
)


@dataclass(frozen=True)
class ReferralEventPlan:
    kind: str
    at: datetime  # local time, made aware when loaded
    by: str
    from_stage: str = ""
    to_stage: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ContactAttemptPlan:
    public_id: uuid.UUID
    at: datetime
    by: str
    method: str
    outcome: str
    note: str


@dataclass(frozen=True)
class ReferralPlan:
    public_id: uuid.UUID
    program: str  # ProgramSpec.key; "" in the organization's intake pool
    source_type: str
    referring_organization: str
    referrer_name: str
    referrer_phone: str
    reason: str
    urgency: str
    given_name: str
    family_name: str
    date_of_birth: date | None
    phone: str
    email: str
    preferred_contact_method: str
    insurance_payer_name: str
    insurance_member_id: str
    schedule_preference: str
    received_at: datetime
    created_by: str
    stage: str
    events: tuple[ReferralEventPlan, ...]
    attempts: tuple[ContactAttemptPlan, ...]
    patient: uuid.UUID | None = None
    episode: uuid.UUID | None = None

    @property
    def stage_changed_at(self) -> datetime:
        moves = [e.at for e in self.events if e.kind == ReferralEvent.Kind.STAGE]
        return moves[-1] if moves else self.received_at


@dataclass(frozen=True)
class AdministrationPlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    episode: uuid.UUID
    code: str
    answers: tuple[tuple[int, int], ...]
    result: ScoreResult
    administered_at: datetime
    completed_at: datetime
    by: str
    self_reported: bool


@dataclass(frozen=True)
class AlertPlan:
    """The suicide-risk alert a PHQ-9 item 9 above 0 raises (alerts.services.alert_raise)."""

    public_id: uuid.UUID
    patient: uuid.UUID
    administration: uuid.UUID
    decision: screening_rules.AlertDecision
    raised_by: str
    raised_at: datetime
    task_public_id: uuid.UUID
    task_assignee: str
    notified: tuple[tuple[uuid.UUID, str], ...]  # (notification public id, director)


@dataclass(frozen=True)
class SafetyPlanPlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    administration: uuid.UUID
    content: screening_rules.SafetyPlanContent
    written_by: str
    written_at: datetime


@dataclass(frozen=True)
class ConsentPlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    program: str
    kind: str
    effective_on: date
    drafted_at: datetime
    signed_at: datetime
    collected_by: str
    signer_address: str
    is_tpo: bool = False
    recipient_name: str = ""
    recipient_class: str = ""
    recipient_relationship: str = ""
    recipient_contact: str = ""
    purposes: tuple[str, ...] = ()
    purpose_description: str = ""
    categories: tuple[str, ...] = ()
    information_description: str = ""
    expires_on: date | None = None
    expiry_event: str = ""
    revoked_at: datetime | None = None
    revocation_method: str = ""
    revocation_note: str = ""
    revoked_by: str = ""


@dataclass(frozen=True)
class SubstancePlan:
    substance: str
    route: str
    frequency: str
    age_first_use: int
    last_use_on: date
    amount: str


@dataclass(frozen=True)
class TreatmentStayPlan:
    treatment_type: str
    facility: str
    started_on: date
    ended_on: date | None
    outcome: str


@dataclass(frozen=True)
class BiopsychosocialPlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    assessed_on: date
    completed_at: datetime
    by: str
    presenting_problem: str
    housing: str
    employment: str
    strengths: str
    readiness_stage: str
    patient_goals: str
    substances: tuple[tuple[uuid.UUID, SubstancePlan], ...]
    treatments: tuple[tuple[uuid.UUID, TreatmentStayPlan], ...]


@dataclass(frozen=True)
class DiagnosisPlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    code: str
    rank: str
    onset_on: date | None
    by: str
    at: datetime


@dataclass(frozen=True)
class LevelOfCarePlan:
    public_id: uuid.UUID
    patient: uuid.UUID
    episode: uuid.UUID
    assessed_on: date
    by: str
    ratings: dict[int, int]
    rationales: dict[int, str]
    recommendation: assessment_rules.Recommendation
    chosen_level: str
    override_reason: str
    override_note: str
    statement: str


@dataclass(frozen=True)
class AdmissionPlan:
    public_id: uuid.UUID
    episode: uuid.UUID
    referral: uuid.UUID | None
    start_date: date
    level_of_care: str
    track: str
    expected_weeks: int
    schedule_preference: str
    by: str
    at: datetime


@dataclass(frozen=True)
class ShowcasePlan:
    referrals: tuple[ReferralPlan, ...] = ()
    administrations: tuple[AdministrationPlan, ...] = ()
    alerts: tuple[AlertPlan, ...] = ()
    safety_plans: tuple[SafetyPlanPlan, ...] = ()
    consents: tuple[ConsentPlan, ...] = ()
    biopsychosocials: tuple[BiopsychosocialPlan, ...] = ()
    diagnoses: tuple[DiagnosisPlan, ...] = ()
    levels_of_care: tuple[LevelOfCarePlan, ...] = ()
    admissions: tuple[AdmissionPlan, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            "referrals": len(self.referrals),
            "referral_events": sum(len(r.events) for r in self.referrals),
            "contact_attempts": sum(len(r.attempts) for r in self.referrals),
            "administrations": len(self.administrations),
            "alerts": len(self.alerts),
            "safety_plans": len(self.safety_plans),
            "consents": len(self.consents),
            "biopsychosocials": len(self.biopsychosocials),
            "diagnoses": len(self.diagnoses),
            "levels_of_care": len(self.levels_of_care),
            "admissions": len(self.admissions),
        }

    def patients(self) -> set[uuid.UUID]:
        """Public ids of the patients the showcase writes rows for."""
        ids = {r.patient for r in self.referrals if r.patient is not None}
        return ids | {a.patient for a in self.administrations} | {c.patient for c in self.consents}

    def episodes(self) -> set[uuid.UUID]:
        ids = {r.episode for r in self.referrals if r.episode is not None}
        ids |= {a.episode for a in self.administrations} | {a.episode for a in self.admissions}
        return ids | {loc.episode for loc in self.levels_of_care}


def _moment(day: date, at: time) -> datetime:
    return datetime.combine(day, at)


def _event_moment(event: EventPlan) -> datetime:
    return _moment(event.effective_on, event.at)


def _status_event(episode: EpisodePlan, status: str) -> EventPlan | None:
    for event in episode.events:
        if event.kind == EpisodeEvent.Kind.STATUS and event.to_status == status:
            return event
    return None


_ROLE_OF = {s.username: s.role for s in STAFF}
PROGRAM_NAMES = {p.key: p.name for p in PROGRAMS}


def _may(username: str, *perms: Perm) -> bool:
    return all(role_has(_ROLE_OF[username], perm) for perm in perms)


class _ReferralWalk:
    """A referral's history built step by step, each stage move checked against
    openiop.intake.rules exactly as the services check it."""

    def __init__(self, received_at: datetime, by: str) -> None:
        self.received_at = received_at
        self.stage = "new"
        self.events = [
            ReferralEventPlan(ReferralEvent.Kind.CREATED, received_at, by, to_stage="new")
        ]
        self.attempts: list[ContactAttemptPlan] = []

    @property
    def last(self) -> datetime:
        return max([self.events[-1].at] + [a.at for a in self.attempts[-1:]])

    def _after(self, at: datetime) -> datetime:
        last = self.last
        return at if at >= last else last + timedelta(minutes=5)

    def move(
        self, to: str, at: datetime, by: str, reason: str = "", admission: bool = False
    ) -> None:
        problem = intake_rules.stage_move_problem(
            from_stage=self.stage, to_stage=to, reason=reason, by_admission=admission
        )
        assert problem is None, (self.stage, to, problem)
        assert _may(by, Perm.ADMIT if admission else Perm.REFERRAL_MANAGE), by
        self.events.append(
            ReferralEventPlan(ReferralEvent.Kind.STAGE, self._after(at), by, self.stage, to, reason)
        )
        self.stage = to

    def attempt(
        self, draw: _Draw, at: datetime, by: str, method: str, outcome: str, note: str = ""
    ) -> None:
        at = self._after(at)
        self.attempts.append(ContactAttemptPlan(draw.uuid(), at, by, method, outcome, note))
        # referral_contact_log: reaching the person moves a new referral to contacted.
        if outcome == "reached" and self.stage == "new":
            self.move("contacted", at, by, f"Reached by {ContactMethod(method).label}")

    def outcomes(self) -> list[str]:
        return [a.outcome for a in self.attempts]

    def link(self, at: datetime, by: str, mrn: str, episode_status: str) -> None:
        """referral_convert: registered as a patient, moved forward to match the episode."""
        assert intake_rules.conversion_problem(stage=self.stage, already_linked=False) is None
        assert _may(by, Perm.REFERRAL_MANAGE, Perm.PATIENT_REGISTER), by
        at = self._after(at)
        self.events.append(
            ReferralEventPlan(ReferralEvent.Kind.LINKED, at, by, reason=f"MRN {mrn}")
        )
        to = intake_rules.stage_after_conversion(stage=self.stage, episode_status=episode_status)
        if to != self.stage:
            self.move(to, at, by, "Registered as a patient")


def _later(draw: _Draw, at: datetime, today: date, low: int = 0, high: int = 2) -> datetime:
    """A business-hours moment some days after `at`, on today at the latest."""
    day = min(today, at.date() + timedelta(days=draw.days(low, high)))
    moment = _moment(day, draw.at())
    return moment if moment > at else at + timedelta(minutes=draw.days(10, 90))


def _showcase(
    draw: _Draw, pools: _Pools, people: Sequence[PatientPlan], today: date
) -> ShowcasePlan:
    """The intake showcase: free referrals, referrals of registered patients, and the
    clinical intake of up to SHOWCASE_LIMIT active first-site patients."""
    main_programs = {p.key for p in PROGRAMS if p.site == SHOWCASE_SITE}
    chosen: list[tuple[PatientPlan, EpisodePlan]] = []
    for person in people:
        latest = person.episodes[-1]
        if (
            latest.status == EpisodeStatus.ACTIVE
            and latest.program in main_programs
            and latest.admitted_on is not None
            and latest.admitted_on < today
            and latest.primary_counselor
        ):
            chosen.append((person, latest))
            if len(chosen) == SHOWCASE_LIMIT:
                break
    alert_index = _alert_patient(chosen, today)
    admitted_referrals: dict[str, int] = defaultdict(int)
    out = _ShowcaseRows()
    for index, (person, episode) in enumerate(chosen):
        opened = episode.events[0]
        with_referral = admitted_referrals[episode.program] < ADMITTED_PER_PROGRAM and _may(
            opened.changed_by, Perm.REFERRAL_MANAGE, Perm.PATIENT_REGISTER
        )
        if with_referral:
            admitted_referrals[episode.program] += 1
        _showcase_patient(
            draw,
            pools,
            person,
            episode,
            today,
            out,
            with_referral=with_referral,
            alert=index == alert_index,
        )
    out.referrals.extend(_linked_referrals(draw, people, today))
    out.referrals.extend(_free_referrals(draw, pools, today))
    return ShowcasePlan(
        referrals=tuple(sorted(out.referrals, key=lambda r: r.received_at)),
        administrations=tuple(out.administrations),
        alerts=tuple(out.alerts),
        safety_plans=tuple(out.safety_plans),
        consents=tuple(out.consents),
        biopsychosocials=tuple(out.biopsychosocials),
        diagnoses=tuple(out.diagnoses),
        levels_of_care=tuple(out.levels_of_care),
        admissions=tuple(out.admissions),
    )


@dataclass
class _ShowcaseRows:
    referrals: list[ReferralPlan] = field(default_factory=list)
    administrations: list[AdministrationPlan] = field(default_factory=list)
    alerts: list[AlertPlan] = field(default_factory=list)
    safety_plans: list[SafetyPlanPlan] = field(default_factory=list)
    consents: list[ConsentPlan] = field(default_factory=list)
    biopsychosocials: list[BiopsychosocialPlan] = field(default_factory=list)
    diagnoses: list[DiagnosisPlan] = field(default_factory=list)
    levels_of_care: list[LevelOfCarePlan] = field(default_factory=list)
    admissions: list[AdmissionPlan] = field(default_factory=list)


def _alert_patient(chosen: Sequence[tuple[PatientPlan, EpisodePlan]], today: date) -> int | None:
    """Which showcase patient screens positive on PHQ-9 item 9: preferably someone in a
    mental-health or dual program with a month of scores behind them."""

    def stay(episode: EpisodePlan) -> int:
        assert episode.admitted_on is not None
        return (today - episode.admitted_on).days

    for wanted in (lambda e: e.program in {"mh_pm", "dual"} and stay(e) > 30, lambda e: True):
        for index, (_, episode) in enumerate(chosen):
            if wanted(episode):
                return index
    return None


def _showcase_patient(
    draw: _Draw,
    pools: _Pools,
    person: PatientPlan,
    episode: EpisodePlan,
    today: date,
    out: _ShowcaseRows,
    *,
    with_referral: bool,
    alert: bool,
) -> None:
    rng = draw.rng
    track = TRACKS[episode.program]
    counselor = episode.primary_counselor
    active = _status_event(episode, EpisodeStatus.ACTIVE)
    assert active is not None and episode.admitted_on is not None
    active_at = _event_moment(active)
    opened_at = _event_moment(episode.events[0])
    screening = _status_event(episode, EpisodeStatus.SCREENING)
    screened_at = _event_moment(screening) if screening else opened_at
    age = age_on(person.date_of_birth, today)

    # Diagnoses: what the program treats.
    sud_code = mh_code = second_mh = ""
    if episode.program == "sud_am":
        sud_code = SUD_DIAGNOSES.pick(rng)
        mh_code = MH_DIAGNOSES.pick(rng) if draw.chance(0.35) else ""
    elif episode.program == "mh_pm":
        mh_code = MH_DIAGNOSES.pick(rng)
        second_mh = MH_DIAGNOSES.pick(rng) if draw.chance(0.3) else ""
        second_mh = "" if second_mh == mh_code else second_mh
    else:  # dual diagnosis: both
        sud_code, mh_code = SUD_DIAGNOSES.pick(rng), MH_DIAGNOSES.pick(rng)
    sud_first = bool(sud_code) and (not mh_code or episode.program == "sud_am" or draw.chance(0.5))
    codes = [c for c in ((sud_code, mh_code) if sud_first else (mh_code, sud_code)) if c]
    codes += [second_mh] if second_mh else []

    # The biopsychosocial assessment, the day before admission.
    bps_day = episode.admitted_on - timedelta(days=1)
    bps_at = _moment(bps_day, time(rng.randint(9, 15), rng.choice((0, 15, 30, 45))))
    if bps_at <= screened_at:
        bps_at = screened_at + timedelta(minutes=45)
    referred_on = episode.referred_on
    substances: list[tuple[uuid.UUID, SubstancePlan]] = []
    if sud_code:
        substance, routes, frequencies, amounts = SUBSTANCES[sud_code]
        first = rng.randint(13, max(13, min(25, age - 2)))
        last = bps_day - timedelta(days=draw.days(1, 12))
        substances.append(
            (
                draw.uuid(),
                SubstancePlan(
                    substance,
                    rng.choice(routes),
                    rng.choice(frequencies),
                    first,
                    max(last, referred_on - timedelta(days=20)),
                    rng.choice(amounts),
                ),
            )
        )
    if draw.chance(0.4):
        substances.append(
            (
                draw.uuid(),
                SubstancePlan(
                    "nicotine",
                    "smoked",
                    "daily",
                    rng.randint(13, max(13, min(20, age - 2))),
                    bps_day,
                    "about half a pack a day",
                ),
            )
        )
    treatments: list[tuple[uuid.UUID, TreatmentStayPlan]] = []
    if sud_code and draw.chance(0.45):
        ended = referred_on - timedelta(days=draw.days(1, 10))
        treatments.append(
            (
                draw.uuid(),
                TreatmentStayPlan(
                    "withdrawal_management",
                    "Pinecrest Withdrawal Management Center",
                    ended - timedelta(days=draw.days(3, 7)),
                    ended,
                    "completed",
                ),
            )
        )
    if draw.chance(0.3) and age >= 22:
        started = referred_on - timedelta(days=draw.days(400, 1500))
        treatments.append(
            (
                draw.uuid(),
                TreatmentStayPlan(
                    "outpatient",
                    "Cedar Park Community Clinic",
                    started,
                    started + timedelta(days=draw.days(30, 120)),
                    rng.choice(("left_early", "completed")),
                ),
            )
        )
    for _, s in substances:
        problems = assessment_rules.substance_row_problems(
            age_first_use=s.age_first_use,
            last_use_on=s.last_use_on,
            date_of_birth=person.date_of_birth,
            today=bps_day,
        )
        assert not problems, problems
    for _, t in treatments:
        problems = assessment_rules.treatment_row_problems(
            started_on=t.started_on,
            ended_on=t.ended_on,
            outcome=t.outcome,
            date_of_birth=person.date_of_birth,
            today=bps_day,
        )
        assert not problems, problems
    presenting = rng.choice(PRESENTING[codes[0]] if codes[0] in PRESENTING else PRESENTING["MH"])
    bps = BiopsychosocialPlan(
        public_id=draw.uuid(),
        patient=person.public_id,
        assessed_on=bps_day,
        completed_at=bps_at,
        by=counselor,
        presenting_problem=presenting,
        housing=rng.choice(HOUSING),
        employment=rng.choice(EMPLOYMENT),
        strengths=rng.choice(STRENGTHS),
        readiness_stage=READINESS.pick(rng),
        patient_goals=rng.choice(GOALS),
        substances=tuple(substances),
        treatments=tuple(treatments),
    )
    assert not assessment_rules.completion_problems(
        presenting_problem=bps.presenting_problem,
        readiness_stage=bps.readiness_stage,
        patient_goals=bps.patient_goals,
    )
    assert _may(counselor, Perm.ASSESSMENT_WRITE)
    out.biopsychosocials.append(bps)
    for rank_index, code in enumerate(codes):
        onset = None
        if draw.chance(0.6):
            onset = max(
                person.date_of_birth + timedelta(days=365 * 14),
                referred_on - timedelta(days=draw.days(180, 3000)),
            )
        out.diagnoses.append(
            DiagnosisPlan(
                draw.uuid(),
                person.public_id,
                code,
                DiagnosisRank.PRIMARY if rank_index == 0 else DiagnosisRank.SECONDARY,
                onset,
                counselor,
                bps_at + timedelta(minutes=10 + rank_index),
            )
        )

    # Level of care, the same day: ratings that mostly point to 2.1 in the example table.
    ratings = {
        1: rng.choice((1, 1, 2)) if sud_code else 0,
        2: rng.choice((0, 0, 1)),
        3: (3 if draw.chance(0.08) else 2) if mh_code else rng.choice((1, 2)),
        4: rng.choice((1, 2, 2, 3)),
        5: (3 if draw.chance(0.08) else 2) if sud_code else rng.choice((1, 2)),
        6: rng.choice((1, 2)),
    }
    if max(ratings[3], ratings[5]) < 2:
        ratings[3] = 2
    rationales = {
        n: rng.choice(RATIONALES[n])
        for n, rating in ratings.items()
        if rating >= assessment_rules.RATIONALE_REQUIRED_FROM
    }
    assert not assessment_rules.rationale_problems(ratings, rationales)
    recommendation = assessment_rules.recommend_level(
        ratings, assessment_rules.EXAMPLE_TABLE, imminent_danger=False
    )
    chosen_level = str(LevelOfCare.L2_1)  # what the program offers
    override_reason = override_note = ""
    if recommendation.level != chosen_level:
        override_reason, override_note = OverrideReason.PATIENT_PREFERENCE, OVERRIDE_NOTES[0]
    assert not assessment_rules.override_problems(
        recommended=recommendation.level,
        chosen=chosen_level,
        reason=override_reason,
        note=override_note,
    )
    statement = assessment_rules.medical_necessity_statement(
        assessment_rules.NecessityFacts(
            assessed_on=bps_day,
            ratings=ratings,
            recommendation=recommendation,
            chosen_level=chosen_level,
            override_reason_label=str(OverrideReason(override_reason).label)
            if override_reason
            else "",
            override_note=override_note,
            table_was_example=True,  # the load gives the organization the example table
        )
    )
    out.levels_of_care.append(
        LevelOfCarePlan(
            draw.uuid(),
            person.public_id,
            episode.public_id,
            bps_day,
            counselor,
            ratings,
            rationales,
            recommendation,
            chosen_level,
            override_reason,
            override_note,
            statement,
        )
    )

    # Consents, signed on the admission day before the admission.
    collector = "intake" if draw.chance(0.6) else counselor
    assert _may(collector, Perm.CONSENT_MANAGE)
    address = f"{SIGNER_ADDRESS_PREFIX}{rng.randint(10, 250)}"
    signed = active_at - timedelta(minutes=60)
    patient_name = " ".join(
        n
        for n in (person.legal_given_name, person.legal_middle_name, person.legal_family_name)
        if n
    )

    def consent(kind: str, **fields: Any) -> None:
        nonlocal signed
        signed += timedelta(minutes=4)
        plan = ConsentPlan(
            public_id=draw.uuid(),
            patient=person.public_id,
            program=episode.program,
            kind=kind,
            effective_on=episode.admitted_on or today,
            drafted_at=signed - timedelta(minutes=2),
            signed_at=signed,
            collected_by=collector,
            signer_address=address,
            **fields,
        )
        draft = consent_rules.ConsentDraft(
            kind=kind,
            patient_name=patient_name,
            discloser_name=f"{PROGRAM_NAMES[episode.program]}, {ORGANIZATION_NAME}",
            effective_on=plan.effective_on,
            is_tpo=plan.is_tpo,
            recipient_name=plan.recipient_name,
            recipient_class=plan.recipient_class,
            recipient_relationship=plan.recipient_relationship,
            recipient_contact=plan.recipient_contact,
            purposes=plan.purposes,
            purpose_description=plan.purpose_description,
            categories=plan.categories,
            information_description=plan.information_description,
            expires_on=plan.expires_on,
            expiry_event=plan.expiry_event,
        )
        assert not consent_rules.draft_errors(draft, today=plan.effective_on), kind
        out.consents.append(plan)

    for kind in (ConsentKind.TREATMENT, ConsentKind.FINANCIAL, ConsentKind.PROGRAM_RULES):
        # consents.services._normalised: these last for the episode ("end of treatment").
        consent(kind, expiry_event=ExpiryEvent.END_OF_TREATMENT)
    if track.substance_use and draw.chance(0.6):
        consent(
            ConsentKind.PART2_DISCLOSURE,
            is_tpo=True,
            recipient_class=RecipientClass.TPO_GENERAL,
            purposes=("TREAT", "HPAYMT", "HOPERAT"),
            categories=("all_records",),
            information_description=(
                "All records of my substance use disorder treatment in this program, from "
                f"{episode.admitted_on:%B %-d, %Y}, except SUD counseling notes."
            ),
            expiry_event=ExpiryEvent.NO_EXPIRY,
        )
    family = [c for c in person.contacts if c.relationship in _FAMILY | {"Spouse", "Partner"}]
    releases = sum(1 for c in out.consents if c.kind == ConsentKind.ROI_FAMILY)
    if family and (releases < 2 or draw.chance(0.12)):  # the first two, then a few
        kin = family[0]
        consent(
            ConsentKind.ROI_FAMILY,
            recipient_name=kin.name,
            recipient_class=RecipientClass.FAMILY_MEMBER,
            recipient_relationship=kin.relationship,
            recipient_contact=kin.phone,
            purposes=("FAMRQT",),
            purpose_description=f"So my {kin.relationship.lower()} can support my recovery.",
            categories=("attendance", "treatment_plan"),
            information_description=(
                "Whether I attend, and my treatment plan goals and progress, during this "
                "episode of treatment."
            ),
            expiry_event=ExpiryEvent.END_OF_TREATMENT,
        )
        revoked_so_far = sum(1 for c in out.consents if c.revoked_at is not None)
        roi = out.consents[-1]
        if revoked_so_far == 0 and (today - roi.signed_at.date()).days >= 2:
            # One revoked release: the patient withdrew it in writing, days later.
            revoked_day = roi.signed_at.date() + timedelta(
                days=draw.days(1, (today - roi.signed_at.date()).days - 1)
            )
            out.consents[-1] = dataclasses.replace(
                roi,
                revoked_at=_moment(revoked_day, draw.at()),
                revocation_method=RevocationMethod.WRITTEN,
                revocation_note="Signed note handed in at group: stop sharing updates",
                revoked_by=collector,
            )

    # The admission (and, for a few, the referral that ended in it).
    referral_id = None
    if with_referral:
        referral = _admitted_referral(draw, person, episode, bps_at=bps_at, active_at=active_at)
        out.referrals.append(referral)
        referral_id = referral.public_id
    assert _may(active.changed_by, Perm.ADMIT)
    out.admissions.append(
        AdmissionPlan(
            draw.uuid(),
            episode.public_id,
            referral_id,
            episode.admitted_on,
            intake_rules.admission_level(
                assessed_level=chosen_level, valid_levels=LevelOfCare.values
            ),
            track.name,
            rng.choice((8, 10, 12)),
            track.schedule,
            active.changed_by,
            active_at,
        )
    )

    # Instruments: PHQ-9 and GAD-7 at admission and about every two weeks, AUDIT or
    # DAST-10 at admission in SUD programs; most patients improve.
    improving = not alert and draw.chance(0.8)
    mood = bool(mh_code)
    phq0 = rng.uniform(0.45, 0.75) if mood else rng.uniform(0.2, 0.5)
    gad0 = rng.uniform(0.4, 0.7) if mood else rng.uniform(0.2, 0.5)
    rate = rng.uniform(0.12, 0.25) if improving else rng.uniform(-0.08, 0.03)
    if alert:
        rate = -0.08
    days = [0]
    while True:
        nxt = FOLLOW_UP_DAYS * len(days) + draw.days(-2, 2)
        if episode.admitted_on + timedelta(days=nxt) >= today:
            break
        days.append(nxt)
    if alert and len(days) > 1:
        # The positive screen is this week's, so the open alert on the chart is current.
        days[-1] = max(days[-1], (today - episode.admitted_on).days - draw.days(1, 2))
    screener = counselor if draw.chance(0.7) else "nurse"
    for visit, offset in enumerate(days):
        if visit == 0:
            at = active_at + timedelta(minutes=30)
            by = counselor
        else:
            at = _moment(episode.admitted_on + timedelta(days=offset), draw.at())
            by = screener
        decay = (1 - rate) ** visit
        planned = [("PHQ-9", min(1.0, phq0 * decay)), ("GAD-7", min(1.0, gad0 * decay))]
        if visit == 0 and track.substance_use and sud_code:
            planned.append(
                ("AUDIT", rng.uniform(0.4, 0.75))
                if sud_code == "F10.20"
                else ("DAST-10", rng.uniform(0.6, 0.9))
            )
        last_visit = visit == len(days) - 1
        for code, severity in planned:
            item9 = 1 if alert and last_visit and code == "PHQ-9" else 0
            answers = _answers(draw, code, severity, phq_item_9=item9)
            result = score(code, answers)
            administration = AdministrationPlan(
                public_id=draw.uuid(),
                patient=person.public_id,
                episode=episode.public_id,
                code=code,
                answers=tuple(sorted(answers.items())),
                result=result,
                administered_at=at,
                completed_at=at + timedelta(minutes=6),
                by=by,
                self_reported=visit > 0 and draw.chance(0.4),
            )
            assert _may(by, Perm.SCREENING_ADMINISTER)
            out.administrations.append(administration)
            at += timedelta(minutes=10)
            decision = screening_rules.suicide_alert_for(
                code=code, flags=result.flags, risk_level=result.risk_level
            )
            assert (decision is not None) == bool(item9), (code, result.flags)
            if decision is not None:
                _raise_alert(draw, pools, person, episode, administration, decision, out)


def _answers(draw: _Draw, code: str, severity: float, *, phq_item_9: int = 0) -> dict[int, int]:
    """Answers whose points sit around `severity` (0 none to 1 the most) of each item's
    range; PHQ-9 item 9 is set apart, since any answer above 0 raises an alert."""
    definition = get_definition(code)
    answers: dict[int, int] = {}
    for item in definition.items:
        options = sorted(item.scale.options, key=item.points)
        position = severity * (len(options) - 1) + draw.rng.gauss(0, 0.45)
        answers[item.number] = options[min(len(options) - 1, max(0, round(position)))].value
    if code == "PHQ-9":
        answers[9] = phq_item_9
    assert not check_answers(code, answers), code
    return answers


def _raise_alert(
    draw: _Draw,
    pools: _Pools,
    person: PatientPlan,
    episode: EpisodePlan,
    administration: AdministrationPlan,
    decision: screening_rules.AlertDecision,
    out: _ShowcaseRows,
) -> None:
    """What alert_raise stores: the alert, a task for the primary clinician of the open
    episode, a notification for each director of its program; and the safety plan the
    counselor wrote that afternoon."""
    raised_at = administration.completed_at
    counselor = episode.primary_counselor or administration.by
    directors = tuple(sorted(pools.directors[episode.program]))
    out.alerts.append(
        AlertPlan(
            public_id=draw.uuid(),
            patient=person.public_id,
            administration=administration.public_id,
            decision=decision,
            raised_by=administration.by,
            raised_at=raised_at,
            task_public_id=draw.uuid(),
            task_assignee=counselor,
            notified=tuple((draw.uuid(), director) for director in directors),
        )
    )
    contact = person.contacts[0] if person.contacts else None
    site = next(s for s in SITES if s.key == SHOWCASE_SITE)
    counselor_spec = next(s for s in STAFF if s.username == counselor)
    contact_of = screening_rules.Contact
    content = screening_rules.SafetyPlanContent(
        warning_signs=(
            "Staying in bed and skipping group",
            "Thinking everyone would be better off without me",
        ),
        coping_strategies=("Walk around the block", "Shower and make tea", "Play guitar"),
        social_distractions=("The coffee shop on Division Street", "The library"),
        help_contacts=(contact_of(contact.name, contact.phone),) if contact else (),
        professional_contacts=(
            screening_rules.CRISIS_LINE,
            contact_of(
                f"{counselor_spec.first_name} {counselor_spec.last_name}, counselor, {site.name}",
                site.phone,
            ),
        ),
        environment_safety=(
            "Medications kept by a family member; a weekly pill box only",
            "No firearms at home (asked and confirmed)",
        ),
        reasons_for_living="My kids, and getting back to work.",
    )
    assert not screening_rules.safety_plan_problems(content)
    assert _may(counselor, Perm.ASSESSMENT_WRITE)
    out.safety_plans.append(
        SafetyPlanPlan(
            draw.uuid(),
            person.public_id,
            administration.public_id,
            content,
            counselor,
            raised_at + timedelta(minutes=50),
        )
    )


def _referral_person(person: PatientPlan) -> dict[str, Any]:
    return {
        "given_name": person.legal_given_name,
        "family_name": person.legal_family_name,
        "date_of_birth": person.date_of_birth,
        "phone": person.phone,
        "email": person.email,
    }


def _referral_source(draw: _Draw) -> tuple[str, str, str, str]:
    """(source type, referring organization, contact person, contact phone)."""
    rng = draw.rng
    source = SOURCES.pick(rng)
    if source in {"self", "family"}:
        return source, "", "", ""
    who = f"{rng.choice(draw.any_first)} {rng.choice(draw.family)}"
    return source, rng.choice(REFERRING_ORGANIZATIONS[source]), who, draw.phone()


def _referral_details(draw: _Draw, program: str, person: dict[str, Any]) -> dict[str, Any]:
    rng = draw.rng
    source, organization, referrer, referrer_phone = _referral_source(draw)
    kind = (
        "teen"
        if program == "teen"
        else "dual"
        if program == "dual"
        else "mh"
        if program == "mh_pm"
        else "sud"
    )
    payer = rng.choice(PAYERS)
    insured = draw.chance(0.8)
    if not (person["phone"] or person["email"] or referrer_phone):
        person = person | {"phone": draw.phone()}
    return {
        "program": program,
        "source_type": source,
        "referring_organization": organization,
        "referrer_name": referrer,
        "referrer_phone": referrer_phone,
        "reason": rng.choice(REFERRAL_REASONS[kind]),
        "urgency": rng.choice(("routine",) * 6 + ("soon",) * 3 + ("urgent",)),
        "preferred_contact_method": rng.choice(("phone", "phone", "text", "email"))
        if person["email"]
        else rng.choice(("phone", "text")),
        "insurance_payer_name": payer.name if insured else "",
        "insurance_member_id": _member_id(draw, payer.plan_type) if insured else "",
        "schedule_preference": TRACKS[program].schedule
        if program and draw.chance(0.7)
        else "either",
        **person,
    }


def _admitted_referral(
    draw: _Draw,
    person: PatientPlan,
    episode: EpisodePlan,
    *,
    bps_at: datetime,
    active_at: datetime,
) -> ReferralPlan:
    """A referral registered as this patient, assessed, offered admission and closed by
    the admission (episode_admit moves it to admitted)."""
    opened = episode.events[0]
    opened_at = _event_moment(opened)
    received = _moment(opened_at.date() - timedelta(days=draw.days(1, 3)), draw.at())
    walk = _ReferralWalk(received, opened.changed_by)
    walk.attempt(draw, received + timedelta(minutes=40), opened.changed_by, "phone", "reached")
    walk.link(opened_at, opened.changed_by, person.mrn, opened.to_status)
    screening = _status_event(episode, EpisodeStatus.SCREENING)
    if screening is not None and walk.stage in {"new", "contacted"}:
        walk.move("screening_scheduled", _event_moment(screening), screening.changed_by)
    walk.move("assessed", bps_at + timedelta(minutes=5), episode.primary_counselor)
    walk.move("offered_admission", bps_at + timedelta(minutes=20), episode.primary_counselor)
    active = _status_event(episode, EpisodeStatus.ACTIVE)
    assert active is not None
    walk.move("admitted", active_at, active.changed_by, "Admitted", admission=True)
    details = _referral_details(draw, episode.program, _referral_person(person))
    return _referral(draw, walk, details, person=person, episode=episode)


def _referral(
    draw: _Draw,
    walk: _ReferralWalk,
    details: dict[str, Any],
    *,
    person: PatientPlan | None = None,
    episode: EpisodePlan | None = None,
) -> ReferralPlan:
    return ReferralPlan(
        public_id=draw.uuid(),
        received_at=walk.received_at,
        created_by=walk.events[0].by,
        stage=walk.stage,
        events=tuple(walk.events),
        attempts=tuple(walk.attempts),
        patient=person.public_id if person else None,
        episode=episode.public_id if episode else None,
        **details,
    )


def _linked_referrals(
    draw: _Draw, people: Sequence[PatientPlan], today: date
) -> list[ReferralPlan]:
    """Referrals registered as the patients now referred or in screening (a few per
    program), moved forward as referral_convert and the board would move them."""
    taken: dict[str, int] = defaultdict(int)
    referrals = []
    for person in people:
        episode = person.episodes[-1]
        opened = episode.events[0]
        if (
            episode.status not in {EpisodeStatus.REFERRED, EpisodeStatus.SCREENING}
            or taken[episode.program] >= LINKED_PER_PROGRAM
            or not _may(opened.changed_by, Perm.REFERRAL_MANAGE, Perm.PATIENT_REGISTER)
        ):
            continue
        taken[episode.program] += 1
        opened_at = _event_moment(opened)
        received = _moment(opened_at.date() - timedelta(days=draw.days(1, 2)), draw.at())
        walk = _ReferralWalk(received, opened.changed_by)
        if draw.chance(0.5):
            walk.attempt(
                draw, received + timedelta(minutes=25), opened.changed_by, "phone", "voicemail"
            )
        walk.link(opened_at, opened.changed_by, person.mrn, opened.to_status)
        screening = _status_event(episode, EpisodeStatus.SCREENING)
        if screening is not None and walk.stage in {"new", "contacted"}:
            walk.move("screening_scheduled", _event_moment(screening), screening.changed_by)
        if walk.stage == "screening_scheduled" and draw.chance(0.4):
            mover = screening.changed_by if screening else opened.changed_by
            walk.move("assessed", _later(draw, walk.events[-1].at, today, 1, 3), mover)
        details = _referral_details(draw, episode.program, _referral_person(person))
        referrals.append(_referral(draw, walk, details, person=person, episode=episode))
    return referrals


def _free_referrals(draw: _Draw, pools: _Pools, today: date) -> list[ReferralPlan]:
    """People not (yet) registered, in every stage of the pipeline."""
    rng = draw.rng
    referrals = []
    for target, count in FREE_REFERRALS:
        for _ in range(count):
            pool_ok = target in {"new", "contacted", "unable_to_reach"}
            program = "" if pool_ok and draw.chance(0.4) else _PROGRAM_SHARES.pick(rng).key
            teen = program == "teen"
            age = rng.randint(13, 17) if teen else _adult_age(rng)
            female = draw.chance(0.5)
            given = rng.choice(draw.female if female else draw.male)
            family = rng.choice(draw.family)
            person = {
                "given_name": given,
                "family_name": family,
                "date_of_birth": _birth_date(today, age, rng.randint(0, 363))
                if draw.chance(0.75)
                else None,
                "phone": draw.phone() if draw.chance(0.9) else "",
                "email": "".join(
                    ch for ch in f"{given}.{family}".lower() if ch.isalpha() or ch == "."
                )
                + "@example.org"
                if draw.chance(0.4)
                else "",
            }
            details = _referral_details(draw, program, person)
            workers = ["intake"] + (pools.counselors[program] if program else [])
            worker = rng.choice(workers)
            steps = {"new": 0, "contacted": 1, "screening_scheduled": 2, "assessed": 3}.get(
                target, 7 if target == REOPENED else 4
            )
            back = draw.days(0, 4) if target == "new" else draw.days(2 * steps + 2, 2 * steps + 30)
            received = _moment(today - timedelta(days=back), draw.at())
            walk = _ReferralWalk(received, "intake")
            _walk_to(draw, walk, target, details, worker, today)
            referrals.append(_referral(draw, walk, details))
    return referrals


def _walk_to(
    draw: _Draw, walk: _ReferralWalk, target: str, details: dict[str, Any], by: str, today: date
) -> None:
    """Move a free referral to `target` the way staff would, through allowed moves."""
    rng = draw.rng
    method = details["preferred_contact_method"] or "phone"

    def later(low: int = 0, high: int = 2) -> datetime:
        return _later(draw, walk.last, today, low, high)

    if target == "unable_to_reach":
        for outcome in ("no_answer", "voicemail", rng.choice(("voicemail", "wrong_number"))):
            walk.attempt(draw, later(0, 2), by, method, outcome)
        assert intake_rules.suggest_unable_to_reach(
            stage=walk.stage, outcomes_oldest_first=walk.outcomes()
        )
        walk.move("unable_to_reach", later(0, 1), by, "No answer after three attempts.")
        return
    if target == "new":
        if draw.chance(0.5):
            walk.attempt(draw, later(0, 1), by, method, "voicemail", "Left the intake line number.")
        return
    skip_ahead = target != "contacted" and details["source_type"] in {"hospital", "detox"}
    if skip_ahead and draw.chance(0.6):
        # A hospital or detox referral arrives with a date for screening already.
        walk.move("screening_scheduled", later(0, 1), by, "Screening date set by the referrer.")
    else:
        if draw.chance(0.4):
            walk.attempt(draw, later(0, 1), by, method, "no_answer")
        walk.attempt(
            draw, later(0, 2), by, method, "reached", "Talked through the schedule and insurance."
        )
    if target == "contacted":
        return
    if target in {"declined", REOPENED} and walk.stage == "contacted" and draw.chance(0.5):
        walk.move("declined", later(0, 3), by, rng.choice(DECLINE_REASONS))
    elif target == "referred_elsewhere" and walk.stage == "contacted":
        walk.move("referred_elsewhere", later(0, 3), by, rng.choice(ELSEWHERE_REASONS))
        return
    if walk.stage == "contacted":
        walk.move("screening_scheduled", later(0, 2), by)
    if target == "screening_scheduled":
        return
    if walk.stage == "screening_scheduled":
        if draw.chance(0.25):
            walk.move("contacted", later(1, 2), by, "Missed the screening appointment; rebooking.")
            walk.move("screening_scheduled", later(0, 1), by)
        walk.move("assessed", later(1, 3), by)
    if target == "assessed":
        return
    if target == "referred_elsewhere":
        walk.move("referred_elsewhere", later(0, 2), by, rng.choice(ELSEWHERE_REASONS))
        return
    if walk.stage == "assessed":
        walk.move("offered_admission", later(0, 2), by)
    if target == "offered_admission":
        return
    if walk.stage != "declined":
        walk.move("declined", later(0, 4), by, rng.choice(DECLINE_REASONS))
    if target == REOPENED:
        walk.move("contacted", later(2, 6), by, rng.choice(REOPEN_REASONS))


# --- Writing the plan -----------------------------------------------------------------


@dataclass
class LoadSummary:
    staff: int = 0
    patients: int = 0
    episodes: int = 0
    events: int = 0
    coverages: int = 0
    contacts: int = 0
    showcase: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Keys:
    """Primary keys of the organization's rows, by plan key or username."""

    organization: int
    programs: dict[str, int]
    payers: dict[str, int]
    staff: dict[str, int]
    # The program rows themselves (with site and organization), for consent texts.
    program_rows: dict[str, Program]
    level_table_version: int


@dataclass
class _Loaded:
    """The rows the showcase refers to, kept from the patient chunks as they load."""

    wanted_patients: set[uuid.UUID]
    wanted_episodes: set[uuid.UUID]
    patients: dict[uuid.UUID, Patient] = field(default_factory=dict)
    episodes: dict[uuid.UUID, int] = field(default_factory=dict)


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
    loaded = _Loaded(plan.showcase.patients(), plan.showcase.episodes())
    with _gc_paused():
        keys = _organization_load(plan, summary)
        for start in range(0, len(plan.patients), BATCH_SIZE):
            _patients_load(plan.patients[start : start + BATCH_SIZE], keys, summary, loaded)
        _showcase_load(plan.showcase, keys, loaded, summary)
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

    table = level_table_load_example(organization=org, audit=False)

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
        program_rows=programs,
        level_table_version=table.version,
    )


def _patients_load(
    chunk: Sequence[PatientPlan], keys: _Keys, summary: LoadSummary, loaded: _Loaded
) -> None:
    patients = Patient.objects.bulk_create(_patient_row(keys.organization, p) for p in chunk)
    loaded.patients.update(
        (p.public_id, row)
        for row, p in zip(patients, chunk, strict=True)
        if p.public_id in loaded.wanted_patients
    )
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
    loaded.episodes.update(
        (e.public_id, row.pk) for row, e in episodes if e.public_id in loaded.wanted_episodes
    )
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


def _local(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.get_current_timezone())


def _showcase_load(
    showcase: ShowcasePlan, keys: _Keys, loaded: _Loaded, summary: LoadSummary
) -> None:
    """Write the showcase with bulk inserts: the rows the intake services would have
    written, without their per-row audit events (the load has one for everything)."""
    staff = keys.staff
    patient_pk = {public_id: row.pk for public_id, row in loaded.patients.items()}
    referrals = Referral.objects.bulk_create(
        Referral(
            public_id=r.public_id,
            organization_id=keys.organization,
            program_id=keys.programs[r.program] if r.program else None,
            source_type=r.source_type,
            referring_organization=r.referring_organization,
            referrer_name=r.referrer_name,
            referrer_phone=r.referrer_phone,
            reason=r.reason,
            urgency=r.urgency,
            given_name=r.given_name,
            family_name=r.family_name,
            date_of_birth=r.date_of_birth,
            phone=r.phone,
            email=r.email,
            preferred_contact_method=r.preferred_contact_method,
            insurance_payer_name=r.insurance_payer_name,
            insurance_member_id=r.insurance_member_id,
            schedule_preference=r.schedule_preference,
            stage=r.stage,
            stage_changed_at=_local(r.stage_changed_at),
            received_at=_local(r.received_at),
            patient_id=patient_pk[r.patient] if r.patient else None,
            episode_id=loaded.episodes[r.episode] if r.episode else None,
            created_by_id=staff[r.created_by],
            # Every change after the first bumps the version (intake.services).
            version=len(r.events),
        )
        for r in showcase.referrals
    )
    referral_pk = {row.public_id: row.pk for row in referrals}
    ReferralEvent.objects.bulk_create(
        ReferralEvent(
            referral_id=referral_pk[r.public_id],
            kind=e.kind,
            from_stage=e.from_stage,
            to_stage=e.to_stage,
            reason=e.reason,
            changed_by_id=staff[e.by],
            changed_at=_local(e.at),
        )
        for r in showcase.referrals
        for e in r.events
    )
    ReferralContactAttempt.objects.bulk_create(
        ReferralContactAttempt(
            public_id=a.public_id,
            referral_id=referral_pk[r.public_id],
            attempted_at=_local(a.at),
            method=a.method,
            outcome=a.outcome,
            note=a.note,
            made_by_id=staff[a.by],
        )
        for r in showcase.referrals
        for a in r.attempts
    )
    Admission.objects.bulk_create(
        Admission(
            public_id=a.public_id,
            episode_id=loaded.episodes[a.episode],
            referral_id=referral_pk[a.referral] if a.referral else None,
            start_date=a.start_date,
            level_of_care=a.level_of_care,
            track=a.track,
            expected_weeks=a.expected_weeks,
            schedule_preference=a.schedule_preference,
            admitted_by_id=staff[a.by],
            admitted_at=_local(a.at),
        )
        for a in showcase.admissions
    )
    _consents_load(showcase.consents, keys, loaded)
    _screening_load(showcase, keys, loaded)
    _assessments_load(showcase, keys, loaded)
    summary.showcase = showcase.counts()


def _consents_load(plans: Sequence[ConsentPlan], keys: _Keys, loaded: _Loaded) -> None:
    """Signed consents as consents.services stores them: the text rendered and frozen
    with its SHA-256 and the content digest, a typed-name electronic signature."""
    consents: list[Consent] = []
    for c in plans:
        patient = loaded.patients[c.patient]
        program = keys.program_rows[c.program]
        consent = Consent(
            public_id=c.public_id,
            patient=patient,
            program=program,
            discloser_name=discloser_name_for(program),
            kind=c.kind,
            is_tpo=c.is_tpo,
            recipient_name=c.recipient_name,
            recipient_class=c.recipient_class,
            recipient_relationship=c.recipient_relationship,
            recipient_contact=c.recipient_contact,
            purposes=list(c.purposes),
            purpose_description=c.purpose_description,
            information_categories=list(c.categories),
            information_description=c.information_description,
            effective_on=c.effective_on,
            expires_on=c.expires_on,
            expiry_event=c.expiry_event,
            created_by_id=keys.staff[c.collected_by],
        )
        text = consent_text(consent)  # what the signing page shows
        consent.template_key = text.key
        consent.text = text.body
        consent.text_sha256 = consent_rules.sha256_text(text.body)
        consent.signature_method = SignatureMethod.TYPED
        consent.signature_png = None
        consent.signed_name = patient.full_name
        consent.signed_at = _local(c.signed_at)
        consent.signer_address = c.signer_address
        consent.signer_user_agent = SIGNER_USER_AGENT
        consent.collected_by_id = keys.staff[c.collected_by]
        consent.status = ConsentStatus.SIGNED
        consent.content_sha256 = consent_rules.content_digest(_content_fields(consent), None)
        consent.version = 2  # drafted, signed
        if c.revoked_at is not None:
            # Only the revocation columns change; the signed content and hashes stay.
            consent.status = ConsentStatus.REVOKED
            consent.revoked_at = _local(c.revoked_at)
            consent.revocation_method = c.revocation_method
            consent.revocation_received_by_id = keys.staff[c.revoked_by]
            consent.revocation_note = c.revocation_note
            consent.version = 3
        consents.append(consent)
    Consent.objects.bulk_create(consents)
    events: list[ConsentEvent] = []
    for consent, c in zip(consents, plans, strict=True):
        actor = keys.staff[c.collected_by]
        events.append(
            ConsentEvent(
                consent_id=consent.pk,
                kind=ConsentEvent.Kind.DRAFTED,
                at=_local(c.drafted_at),
                actor_id=actor,
                effective_on=c.drafted_at.date(),
            )
        )
        events.append(
            ConsentEvent(
                consent_id=consent.pk,
                kind=ConsentEvent.Kind.SIGNED,
                at=_local(c.signed_at),
                actor_id=actor,
                effective_on=c.signed_at.date(),
                detail={"method": consent.signature_method, "text_sha256": consent.text_sha256},
            )
        )
        if c.revoked_at is not None:
            events.append(
                ConsentEvent(
                    consent_id=consent.pk,
                    kind=ConsentEvent.Kind.REVOKED,
                    at=_local(c.revoked_at),
                    actor_id=keys.staff[c.revoked_by],
                    effective_on=c.revoked_at.date(),
                    note=c.revocation_note,
                    detail={"method": c.revocation_method},
                )
            )
    ConsentEvent.objects.bulk_create(events)


def _screening_load(showcase: ShowcasePlan, keys: _Keys, loaded: _Loaded) -> None:
    """Scored administrations as screening.services.administration_save stores them,
    and the alert, task, notifications and safety plan of the positive item 9."""
    staff = keys.staff
    patient_pk = {public_id: row.pk for public_id, row in loaded.patients.items()}
    administrations = InstrumentAdministration.objects.bulk_create(
        InstrumentAdministration(
            public_id=a.public_id,
            patient_id=patient_pk[a.patient],
            episode_id=loaded.episodes[a.episode],
            instrument_code=a.code,
            definition_version=a.result.definition_version,
            status=AdministrationStatus.COMPLETED,
            answers={str(number): value for number, value in a.answers},
            total=a.result.total,
            subscales=dict(a.result.subscales),
            band=a.result.band or "",
            flags=list(a.result.flags),
            risk_level=str(a.result.risk_level or ""),
            thresholds=dict(a.result.thresholds),
            administered_by_id=staff[a.by],
            administered_at=_local(a.administered_at),
            completed_at=_local(a.completed_at),
            self_reported=a.self_reported,
        )
        for a in showcase.administrations
    )
    administration_pk = {row.public_id: row.pk for row in administrations}
    alerts = Alert.objects.bulk_create(
        Alert(
            public_id=a.public_id,
            patient_id=patient_pk[a.patient],
            kind=AlertKind.SUICIDE_RISK,
            severity=a.decision.severity,
            title=a.decision.title,
            source_type=ADMINISTRATION_SOURCE,
            source_id=f"{a.administration}:{a.decision.severity}",
            requires_response=a.decision.requires_response,
            raised_by_id=staff[a.raised_by],
            raised_at=_local(a.raised_at),
        )
        for a in showcase.alerts
    )
    for alert, a in zip(alerts, showcase.alerts, strict=True):
        Task.objects.create(
            public_id=a.task_public_id,
            assignee_id=staff[a.task_assignee],
            patient_id=alert.patient_id,
            alert=alert,
            kind=f"alert_{AlertKind.SUICIDE_RISK}",
            title=a.decision.task_title,
            due_at=alert.raised_at,
            created_by_id=staff[a.raised_by],
        )
        Notification.objects.bulk_create(
            Notification(
                public_id=public_id,
                recipient_id=staff[director],
                patient_id=alert.patient_id,
                alert=alert,
                title=alert.title,
            )
            for public_id, director in a.notified
        )
    SafetyPlan.objects.bulk_create(
        SafetyPlan(
            public_id=s.public_id,
            patient_id=patient_pk[s.patient],
            number=1,
            status=SafetyPlanStatus.CURRENT,
            warning_signs=list(s.content.warning_signs),
            coping_strategies=list(s.content.coping_strategies),
            social_distractions=list(s.content.social_distractions),
            help_contacts=[{"name": c.name, "phone": c.phone} for c in s.content.help_contacts],
            professional_contacts=[
                {"name": c.name, "phone": c.phone} for c in s.content.professional_contacts
            ],
            environment_safety=list(s.content.environment_safety),
            reasons_for_living=s.content.reasons_for_living,
            developed_with_patient=s.content.developed_with_patient,
            administration_id=administration_pk[s.administration],
            written_by_id=staff[s.written_by],
            written_at=_local(s.written_at),
        )
        for s in showcase.safety_plans
    )


def _icd10_release() -> str:
    """The code-set release a diagnosis records (as icd10.release_name() names it, but
    without building the index; a test checks they agree)."""
    return f"ICD-10-CM ({icd10.PACKAGE} {icd10.package_version()})"


def _assessments_load(showcase: ShowcasePlan, keys: _Keys, loaded: _Loaded) -> None:
    staff = keys.staff
    patient_pk = {public_id: row.pk for public_id, row in loaded.patients.items()}
    assessments = BiopsychosocialAssessment.objects.bulk_create(
        BiopsychosocialAssessment(
            public_id=b.public_id,
            patient_id=patient_pk[b.patient],
            status=AssessmentStatus.COMPLETED,
            assessed_on=b.assessed_on,
            presenting_problem=b.presenting_problem,
            housing=b.housing,
            employment=b.employment,
            strengths=b.strengths,
            readiness_stage=b.readiness_stage,
            patient_goals=b.patient_goals,
            created_by_id=staff[b.by],
            completed_by_id=staff[b.by],
            completed_at=_local(b.completed_at),
        )
        for b in showcase.biopsychosocials
    )
    SubstanceUse.objects.bulk_create(
        SubstanceUse(
            public_id=public_id,
            assessment_id=row.pk,
            position=position,
            substance=s.substance,
            route=s.route,
            frequency=s.frequency,
            age_first_use=s.age_first_use,
            last_use_on=s.last_use_on,
            amount=s.amount,
        )
        for row, b in zip(assessments, showcase.biopsychosocials, strict=True)
        for position, (public_id, s) in enumerate(b.substances)
    )
    TreatmentHistory.objects.bulk_create(
        TreatmentHistory(
            public_id=public_id,
            assessment_id=row.pk,
            position=position,
            treatment_type=t.treatment_type,
            facility=t.facility,
            started_on=t.started_on,
            ended_on=t.ended_on,
            outcome=t.outcome,
        )
        for row, b in zip(assessments, showcase.biopsychosocials, strict=True)
        for position, (public_id, t) in enumerate(b.treatments)
    )
    release = _icd10_release()
    Diagnosis.objects.bulk_create(
        Diagnosis(
            public_id=d.public_id,
            patient_id=patient_pk[d.patient],
            code=d.code,
            description=ICD10_DESCRIPTIONS[d.code],
            code_set_release=release,
            rank=d.rank,
            onset_on=d.onset_on,
            recorded_by_id=staff[d.by],
            recorded_at=_local(d.at),
        )
        for d in showcase.diagnoses
    )
    LevelOfCareAssessment.objects.bulk_create(
        LevelOfCareAssessment(
            public_id=loc.public_id,
            patient_id=patient_pk[loc.patient],
            episode_id=loaded.episodes[loc.episode],
            assessed_on=loc.assessed_on,
            assessed_by_id=staff[loc.by],
            imminent_danger=loc.recommendation.emergency,
            minimum_levels={
                str(n): level for n, level in loc.recommendation.minimum_levels.items()
            },
            driving_dimensions=list(loc.recommendation.driving_dimensions),
            table_was_example=True,
            table_version=keys.level_table_version,
            recommended_level=loc.recommendation.level,
            chosen_level=loc.chosen_level,
            override_reason=loc.override_reason,
            override_note=loc.override_note,
            medical_necessity=loc.statement,
            **{f"d{n}_rating": loc.ratings[n] for n in assessment_rules.DIMENSIONS},
            **{f"d{n}_rationale": loc.rationales.get(n, "") for n in assessment_rules.DIMENSIONS},
        )
        for loc in showcase.levels_of_care
    )


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


# Capabilities built after the intake add their demo rows here: each entry is a
# function `load(*, seed: int, today: date) -> str` that reads the organization
# plan_load created (by demo usernames and program names), inserts its rows in a bounded
# number of queries, and returns a one-line summary (or "").
EXTENSIONS: tuple[str, ...] = (
    "openiop.scheduling.demo.load",
    "openiop.attendance.demo.load",
    "openiop.reminders.demo.load",
    "openiop.plans.demo.load",
    "openiop.homework.demo.load",
    "openiop.notes.demo.load",
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
        for path in EXTENSIONS:
            # Each later capability adds its demo rows on top of the loaded organization.
            report = import_string(path)(seed=plan.seed, today=plan.today)
            if report:
                self.stdout.write(f"demo_data: {report}")
        finished = clock.perf_counter()
        self.stdout.write(
            f"demo_data: {summary.patients} patients, {summary.episodes} episodes, "
            f"{summary.events} episode events, {summary.coverages} coverages, "
            f"{summary.contacts} contacts, {summary.staff} staff "
            f"(seed {plan.seed}, fingerprint {plan.fingerprint()})"
        )
        shown = summary.showcase
        self.stdout.write(
            f"demo_data: intake showcase: {shown['referrals']} referrals "
            f"({shown['contact_attempts']} contact attempts), "
            f"{shown['administrations']} scored instruments, {shown['alerts']} open "
            f"suicide-risk alert, {shown['consents']} consents, "
            f"{shown['biopsychosocials']} biopsychosocial and {shown['levels_of_care']} "
            f"level-of-care assessments, {shown['diagnoses']} diagnoses, "
            f"{shown['admissions']} admissions"
        )
        self.stdout.write(
            f"demo_data: took {finished - started:.1f} s "
            f"(plan {planned - started:.1f} s, database {finished - planned:.1f} s)"
        )
