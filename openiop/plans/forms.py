"""Plan forms.

The plan editor is one form of repeating rows named by position:
`p{i}-statement|goal|diagnosis|dimensions|key` for problem i,
`p{i}-o{j}-text|measure|measure_other|baseline|baseline_on|target|target_on|key` for its
objectives and `p{i}-i{k}-modality|description|frequency|responsible|key` for its
interventions; `r-{objective public id}-progress|current_value|comment` for review
lines. Every render adds one empty problem, objective and intervention slot, so the
page works without JavaScript. `parse_plan` turns the POST into `services.PlanInput`
plus parse errors; `plan_state` turns a raw dict (a POST, autosaved draft_data, or the
saved rows via `raw_from_version`) into what the template shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms

from openiop.organizations.models import PlanType
from openiop.plans import rules
from openiop.plans.models import Measure, Modality, PlanVersion, Progress
from openiop.plans.services import (
    DeadlineSettingInput,
    InterventionRow,
    ObjectiveRow,
    PlanInput,
    ProblemRow,
    ReviewRow,
)

PROBLEM_RE = re.compile(r"^p(\d+)-")
OBJECTIVE_RE = re.compile(r"^p(\d+)-o(\d+)-")
INTERVENTION_RE = re.compile(r"^p(\d+)-i(\d+)-")
MAX_ROWS = 40

VERSION_FIELDS = ("written_on", "strengths", "participation", "referrals", "review_summary")


def _get(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value)


def _getlist(raw: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(raw, "getlist", None)
    if getlist is not None:
        return [str(v) for v in getlist(key)]
    value = raw.get(key, [])
    return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])


def raw_dict(data: Any) -> dict[str, Any]:
    """A POST as a JSON-able dict (lists kept for multi-valued fields)."""
    out: dict[str, Any] = {}
    for key in data:
        if key in {"csrfmiddlewaretoken", "version", "action"}:
            continue
        values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
        out[key] = values if key.endswith("-dimensions") else (values[-1] if values else "")
    return out


def _indices(raw: Mapping[str, Any], pattern: re.Pattern[str], prefix: str = "") -> list[int]:
    found: set[int] = set()
    for key in raw:
        m = pattern.match(key)
        if m and (not prefix or key.startswith(prefix)):
            found.add(int(m.groups()[-1]))
    return sorted(found)[:MAX_ROWS]


def _date(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> date | None:
    value = _get(raw, key).strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[key] = "Enter a date (YYYY-MM-DD)."
        return None


def _decimal(raw: Mapping[str, Any], key: str, errors: dict[str, str]) -> Decimal | None:
    value = _get(raw, key).strip()
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        errors[key] = "Enter a number."
        return None
    if not number.is_finite() or abs(number) >= Decimal("1000000"):
        errors[key] = "Enter a number below 1,000,000."
        return None
    return number.quantize(Decimal("0.1"))


def parse_plan(
    raw: Mapping[str, Any],
    *,
    staff_ids: Mapping[str, int],
    diagnosis_ids: Mapping[str, int],
) -> tuple[PlanInput, dict[str, str]]:
    """(input, parse errors). `staff_ids`/`diagnosis_ids` map public ids to keys."""
    errors: dict[str, str] = {}
    problems: list[ProblemRow] = []
    for i in _indices(raw, PROBLEM_RE):
        p = f"p{i}"
        diagnosis = _get(raw, f"{p}-diagnosis")
        dims = [int(d) for d in _getlist(raw, f"{p}-dimensions") if d.isdigit()]
        objectives = []
        for j in _indices(raw, OBJECTIVE_RE, f"{p}-o"):
            o = f"{p}-o{j}"
            measure = _get(raw, f"{o}-measure")
            if measure and measure not in Measure.values:
                errors[f"{o}-measure"] = "Choose a measure."
                measure = ""
            objectives.append(
                ObjectiveRow(
                    key=_get(raw, f"{o}-key"),
                    draft=rules.ObjectiveDraft(
                        prefix=o,
                        text=_get(raw, f"{o}-text"),
                        measure=measure,
                        measure_other=_get(raw, f"{o}-measure_other"),
                        baseline=_decimal(raw, f"{o}-baseline", errors),
                        baseline_on=_date(raw, f"{o}-baseline_on", errors),
                        target=_decimal(raw, f"{o}-target", errors),
                        target_on=_date(raw, f"{o}-target_on", errors),
                    ),
                )
            )
        interventions = []
        for k in _indices(raw, INTERVENTION_RE, f"{p}-i"):
            iv = f"{p}-i{k}"
            modality = _get(raw, f"{iv}-modality")
            if modality and modality not in Modality.values:
                errors[f"{iv}-modality"] = "Choose a modality."
                modality = ""
            responsible = _get(raw, f"{iv}-responsible")
            interventions.append(
                InterventionRow(
                    key=_get(raw, f"{iv}-key"),
                    draft=rules.InterventionDraft(
                        prefix=iv,
                        modality=modality,
                        description=_get(raw, f"{iv}-description"),
                        frequency=_get(raw, f"{iv}-frequency"),
                        responsible_id=staff_ids.get(responsible) if responsible else None,
                    ),
                )
            )
            if responsible and responsible not in staff_ids:
                errors[f"{iv}-responsible"] = "Choose a staff member."
        if diagnosis and diagnosis not in diagnosis_ids:
            errors[f"{p}-diagnosis"] = "Choose one of the patient's diagnoses."
        problems.append(
            ProblemRow(
                key=_get(raw, f"{p}-key"),
                draft=rules.ProblemDraft(
                    prefix=p,
                    statement=_get(raw, f"{p}-statement"),
                    goal=_get(raw, f"{p}-goal"),
                    diagnosis_id=diagnosis_ids.get(diagnosis) if diagnosis else None,
                    dimensions=tuple(dims),
                    objectives=tuple(r.draft for r in objectives),
                    interventions=tuple(r.draft for r in interventions),
                ),
                objectives=tuple(objectives),
                interventions=tuple(interventions),
            )
        )
    reviews = []
    for key in raw:
        if key.startswith("r-") and key.endswith("-progress"):
            rid = key[2 : -len("-progress")]
            progress = _get(raw, key)
            if progress and progress not in Progress.values:
                errors[key] = "Choose the progress."
                progress = ""
            reviews.append(
                ReviewRow(
                    objective_public_id=rid,
                    progress=progress,
                    current_value=_decimal(raw, f"r-{rid}-current_value", errors),
                    comment=_get(raw, f"r-{rid}-comment"),
                )
            )
    data = PlanInput(
        written_on=_date(raw, "written_on", errors),
        strengths=_get(raw, "strengths"),
        participation=_get(raw, "participation"),
        referrals=_get(raw, "referrals"),
        review_summary=_get(raw, "review_summary"),
        problems=tuple(problems),
        reviews=tuple(reviews),
    )
    return data, errors


# ----- what the template shows ------------------------------------------------------------


@dataclass
class Slot:
    prefix: str
    values: dict[str, Any]
    errors: dict[str, str]
    objectives: list[Slot] = field(default_factory=list)
    interventions: list[Slot] = field(default_factory=list)


def raw_from_version(version: PlanVersion) -> dict[str, Any]:
    """The saved rows in the form's naming (the version's rows must be prefetched)."""
    raw: dict[str, Any] = {
        "written_on": version.written_on.isoformat(),
        "strengths": version.strengths,
        "participation": version.participation,
        "referrals": version.referrals,
        "review_summary": version.review_summary,
    }
    objectives = [o for o in version.objectives.all() if o.removed_at is None]
    interventions = [i for i in version.interventions.all() if i.removed_at is None]
    problems = [p for p in version.problems.all() if p.removed_at is None]
    for n, problem in enumerate(problems):
        p = f"p{n}"
        raw[f"{p}-key"] = str(problem.key)
        raw[f"{p}-statement"] = problem.statement
        raw[f"{p}-goal"] = problem.goal
        raw[f"{p}-diagnosis"] = str(problem.diagnosis.public_id) if problem.diagnosis else ""
        raw[f"{p}-dimensions"] = [str(d) for d in problem.dimensions]
        for m, o in enumerate(x for x in objectives if x.problem_id == problem.pk):
            q = f"{p}-o{m}"
            raw.update(
                {
                    f"{q}-key": str(o.key),
                    f"{q}-text": o.text,
                    f"{q}-measure": o.measure,
                    f"{q}-measure_other": o.measure_other,
                    f"{q}-baseline": "" if o.baseline is None else str(o.baseline),
                    f"{q}-baseline_on": o.baseline_on.isoformat(),
                    f"{q}-target": str(o.target),
                    f"{q}-target_on": o.target_on.isoformat(),
                }
            )
        for m, i in enumerate(x for x in interventions if x.problem_id == problem.pk):
            q = f"{p}-i{m}"
            raw.update(
                {
                    f"{q}-key": str(i.key),
                    f"{q}-modality": i.modality,
                    f"{q}-description": i.description,
                    f"{q}-frequency": i.frequency,
                    f"{q}-responsible": str(i.responsible.public_id),
                }
            )
    for r in version.objective_reviews.all():
        q = f"r-{r.objective.public_id}"
        raw[f"{q}-progress"] = r.progress
        raw[f"{q}-current_value"] = "" if r.current_value is None else str(r.current_value)
        raw[f"{q}-comment"] = r.comment
    return raw


OBJECTIVE_FIELDS = (
    "key",
    "text",
    "measure",
    "measure_other",
    "baseline",
    "baseline_on",
    "target",
    "target_on",
)
INTERVENTION_FIELDS = ("key", "modality", "description", "frequency", "responsible")


def _slot(
    raw: Mapping[str, Any], prefix: str, names: tuple[str, ...], errors: dict[str, str]
) -> Slot:
    return Slot(
        prefix=prefix,
        values={n: _get(raw, f"{prefix}-{n}") for n in names},
        errors={n: errors[f"{prefix}-{n}"] for n in names if f"{prefix}-{n}" in errors},
    )


def plan_state(raw: Mapping[str, Any], errors: Mapping[str, str]) -> list[Slot]:
    """Problem slots (renumbered from 0) with an empty objective, intervention and
    problem slot added. Errors keyed by the submitted prefixes follow their rows."""
    errors = dict(errors)
    slots: list[Slot] = []
    indices = _indices(raw, PROBLEM_RE)
    for n, i in enumerate([*indices, None]):
        src = f"p{i}" if i is not None else "p-new"
        p = f"p{n}"
        slot = _slot(raw, src, ("key", "statement", "goal", "diagnosis"), errors)
        slot.prefix = p
        slot.values["dimensions"] = _getlist(raw, f"{src}-dimensions")
        for name in ("objectives", "interventions", "dimensions"):
            if f"{src}-{name}" in errors:
                slot.errors[name] = errors[f"{src}-{name}"]
        o_idx = _indices(raw, OBJECTIVE_RE, f"{src}-o") if i is not None else []
        for m, j in enumerate([*o_idx, None]):
            o = _slot(raw, f"{src}-o{j}", OBJECTIVE_FIELDS, errors)
            o.prefix = f"{p}-o{m}"
            slot.objectives.append(o)
        iv_idx = _indices(raw, INTERVENTION_RE, f"{src}-i") if i is not None else []
        for m, k in enumerate([*iv_idx, None]):
            iv = _slot(raw, f"{src}-i{k}", INTERVENTION_FIELDS, errors)
            iv.prefix = f"{p}-i{m}"
            slot.interventions.append(iv)
        slots.append(slot)
    return slots


# ----- small forms ----------------------------------------------------------------------


class StartForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)


class PatientSignForm(forms.Form):
    shown_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    signature_data = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500_000)
    typed_name = forms.CharField(
        label="Patient: type your full legal name",
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    signing_electronically = forms.BooleanField(
        label="I am signing electronically. My typed name is my signature.",
        required=False,
    )


class StaffSignForm(forms.Form):
    shown_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)
    attest = forms.BooleanField(
        label="I reviewed this plan with the patient and agree with it.", required=False
    )


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is this version entered in error?", max_length=500)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


class RelapsePlanForm(forms.Form):
    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    base_number = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    triggers = forms.CharField(
        label="Triggers (one a line)", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    warning_signs = forms.CharField(
        label="Warning signs (one a line)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    coping_strategies = forms.CharField(
        label="Coping strategies (one a line)",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    person_0_name = forms.CharField(label="Person to call", max_length=200, required=False)
    person_0_phone = forms.CharField(label="Phone", max_length=40, required=False)
    person_1_name = forms.CharField(label="Person to call", max_length=200, required=False)
    person_1_phone = forms.CharField(label="Phone", max_length=40, required=False)
    person_2_name = forms.CharField(label="Person to call", max_length=200, required=False)
    person_2_phone = forms.CharField(label="Phone", max_length=40, required=False)
    self_help_group = forms.CharField(label="Self-help group", max_length=300, required=False)
    sponsor_name = forms.CharField(label="Sponsor", max_length=200, required=False)
    sponsor_phone = forms.CharField(label="Sponsor's phone", max_length=40, required=False)
    after_lapse = forms.CharField(
        label="What to do after a lapse", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    developed_with_patient = forms.BooleanField(
        label="Written with the patient", required=False, initial=True
    )

    def relapse_input(self):  # type: ignore[no-untyped-def]
        from openiop.plans.services import RelapsePlanInput

        c = self.cleaned_data
        return RelapsePlanInput(
            triggers=_lines(c["triggers"]),
            warning_signs=_lines(c["warning_signs"]),
            coping_strategies=_lines(c["coping_strategies"]),
            people_to_call=tuple((c[f"person_{n}_name"], c[f"person_{n}_phone"]) for n in range(3)),
            self_help_group=c["self_help_group"],
            sponsor_name=c["sponsor_name"],
            sponsor_phone=c["sponsor_phone"],
            after_lapse=c["after_lapse"],
            developed_with_patient=c["developed_with_patient"],
        )


def relapse_initial(plan: Any) -> dict[str, Any]:
    if plan is None:
        return {"base_number": 0, "developed_with_patient": True}
    initial: dict[str, Any] = {
        "base_number": plan.number,
        "triggers": "\n".join(plan.triggers),
        "warning_signs": "\n".join(plan.warning_signs),
        "coping_strategies": "\n".join(plan.coping_strategies),
        "self_help_group": plan.self_help_group,
        "sponsor_name": plan.sponsor_name,
        "sponsor_phone": plan.sponsor_phone,
        "after_lapse": plan.after_lapse,
        "developed_with_patient": plan.developed_with_patient,
    }
    for n, person in enumerate(plan.people_to_call[:3]):
        initial[f"person_{n}_name"] = person.get("name", "")
        initial[f"person_{n}_phone"] = person.get("phone", "")
    return initial


class DeadlineSettingForm(forms.Form):
    """A program director's plan deadline setting. Only types are checked here; the
    rules (`rules.deadline_setting_errors`) and the service check the values."""

    submission_token = forms.UUIDField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    label = forms.CharField(
        label="Requirement (where it comes from)",
        max_length=200,
        required=False,
        help_text="e.g. “Medicare IOP: review at least every other month” or a state rule.",
    )
    program = forms.ChoiceField(label="Program", required=False)
    payer = forms.ChoiceField(label="Payer", required=False)
    plan_type = forms.ChoiceField(label="Payer plan type", required=False)
    jurisdiction = forms.ChoiceField(
        label="State (jurisdiction)",
        required=False,
        choices=[("", "Any state"), *((c, c) for c in sorted(rules.US_STATES))],
        help_text="Matches patients whose address is in that state.",
    )
    due_within_days = forms.IntegerField(
        label="Plan due within (days of admission)",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    review_every_days = forms.IntegerField(
        label="Review at least every (days)",
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    prescriber_signature_required = forms.BooleanField(
        label="The prescriber signs the plan too", required=False
    )
    is_active = forms.BooleanField(
        label="In force",
        required=False,
        help_text="Untick to stop applying it (settings are never deleted).",
    )

    def __init__(self, *args: Any, programs: Any = (), payers: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("program", [(str(p.public_id), p.name) for p in programs], "Any program")
        self._choices("payer", [(str(p.public_id), p.name) for p in payers], "Any payer")
        self._choices("plan_type", list(PlanType.choices), "Any plan type")

    def _choices(self, name: str, choices: list[tuple[str, str]], blank: str) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", blank), *choices]

    def setting_input(self) -> DeadlineSettingInput:
        c = self.cleaned_data
        return DeadlineSettingInput(
            label=c["label"],
            program_public_id=c["program"],
            payer_public_id=c["payer"],
            plan_type=c["plan_type"],
            jurisdiction=c["jurisdiction"],
            due_within_days=c["due_within_days"],
            review_every_days=c["review_every_days"],
            prescriber_signature_required=c["prescriber_signature_required"],
            is_active=c["is_active"],
        )
