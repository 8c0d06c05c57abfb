"""The referral pipeline board, referrals, observation visits and admission.

Every view fetches its referral with `referral_get_for_user` (or its patient with
`patient_get_for_user`) first, outside any transaction, so an outsider meets an audited
404 before anything else happens.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from openiop.access.policy import staff
from openiop.accounts.roles import Perm
from openiop.audit.models import AuditAction, AuditOutcome
from openiop.audit.services import audit_record
from openiop.core.errors import ServiceError
from openiop.core.http import actor_of, form_error, now, today
from openiop.intake import rules, selectors, services
from openiop.intake.forms import (
    AdmissionForm,
    ContactAttemptForm,
    EnteredInErrorForm,
    ObservationForm,
    ReferralCreateForm,
    ReferralEditForm,
    StageMoveForm,
)
from openiop.intake.models import ObservationVisit, Referral, ReferralStage, Urgency
from openiop.organizations.models import LevelOfCare, Program
from openiop.patients.forms import PatientRegisterForm
from openiop.patients.selectors import patient_get_for_user
from openiop.patients.services import DuplicateSuspected

# Reversed once per page, then filled in per card (a reverse() per card is measurable
# on a board of a few hundred cards).
_PLACEHOLDER = UUID(int=0)


@lru_cache(maxsize=128)
def _stage_options(stage: str, selected: str) -> SafeString:
    """The <option>s of a card's "move to" select: the same few strings for every card
    of a stage, so they are built once rather than looped over in the template."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        [
            (value, mark_safe(" selected") if value == selected else "", rules.STAGE_LABELS[value])
            for value in rules.board_moves(stage)
        ],
    )


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _filters(request: HttpRequest, programs: list[Program]) -> selectors.BoardFilters:
    source = request.POST if request.method == "POST" else request.GET
    return selectors.filters_clean(
        programs=programs,
        program=source.get("program", ""),
        urgency=source.get("urgency", ""),
    )


def _board_url(filters: selectors.BoardFilters) -> str:
    query = filters.query()
    return reverse("intake:board") + (f"?{query}" if query else "")


def board_context(
    board: selectors.Board,
    *,
    card_errors: dict[str, str] | None = None,
    typed: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The board template's context: each card gets its links, its select's options and
    (for a refused move) its error and what was typed."""
    unplaced = dict(card_errors or {})
    detail_url = reverse("intake:detail", args=[_PLACEHOLDER])
    move_url = reverse("intake:move", args=[_PLACEHOLDER])
    for column in board.columns:
        for card in column.cards:
            key = str(card.referral.public_id)
            card.key = key
            card.detail_url = detail_url.replace(str(_PLACEHOLDER), key)
            card.move_url = move_url.replace(str(_PLACEHOLDER), key)
            if key in unplaced:
                card.error = unplaced.pop(key)
                card.typed_stage = (typed or {}).get(key, {}).get("to_stage", "")
                card.typed_reason = (typed or {}).get(key, {}).get("reason", "")
            selected = card.typed_stage if card.typed_stage in rules.STAGE_LABELS else ""
            card.options = _stage_options(card.referral.stage, selected)
    filters = board.filters
    return {
        "board": board,
        "filters": filters,
        "programs": board.programs,
        "urgencies": Urgency.choices,
        "pool": selectors.POOL,
        "unplaced_errors": list(unplaced.values()),
        # The filters ride along with every card's form, so a move keeps them.
        "filter_inputs": format_html_join(
            "",
            '<input type="hidden" name="{}" value="{}">',
            [(k, v) for k, v in (("program", filters.program), ("urgency", filters.urgency)) if v],
        ),
    }


def _render_board(
    request: HttpRequest,
    *,
    filters: selectors.BoardFilters,
    programs: list[Program],
    status: int = 200,
    card_errors: dict[str, str] | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    notice: str = "",
) -> HttpResponse:
    actor = actor_of(request)
    board = selectors.referral_board(actor=actor, programs=programs, filters=filters, now=now())
    context = board_context(board, card_errors=card_errors, typed=typed)
    selectors.audit_referrals_listed(
        actor=actor,
        referrals=board.referrals,
        object_type="referral_board",
        detail={"shown": len(board.referrals), "urgency": filters.urgency or "any"},
    )
    template = "intake/board.html"
    if _is_htmx(request):
        template += "#board"
    response = render(request, template, context | {"notice": notice}, status=status)
    response["Vary"] = "HX-Request"
    return response


@staff(Perm.REFERRAL_MANAGE)
def board(request: HttpRequest) -> HttpResponse:
    """The pipeline: a column per stage with the newest cards of each."""
    actor = actor_of(request)
    programs = selectors.referral_programs(actor=actor)
    return _render_board(request, filters=_filters(request, programs), programs=programs)


@staff(Perm.REFERRAL_MANAGE)
def referral_list(request: HttpRequest) -> HttpResponse:
    """Every referral of one stage (the board's "all N" link), paginated."""
    actor = actor_of(request)
    programs = selectors.referral_programs(actor=actor)
    filters = _filters(request, programs)
    stage = request.GET.get("stage", "")
    page = selectors.referral_list(
        actor=actor,
        programs=programs,
        filters=filters,
        stage=stage,
        page=request.GET.get("page", 1),
    )
    rows = list(page.object_list)
    selectors.audit_referrals_listed(
        actor=actor,
        referrals=rows,
        object_type="referral_list",
        detail={"shown": len(rows), "stage": stage or "any"},
    )
    moment = now()
    return render(
        request,
        "intake/list.html",
        {
            "page": page,
            "cards": [selectors.card_of(r, moment) for r in rows],
            "stage": stage if stage in ReferralStage.values else "",
            "stage_label": rules.STAGE_LABELS.get(stage, "All stages"),
            "filters": filters,
            "programs": programs,
            "urgencies": Urgency.choices,
            "stages": ReferralStage.choices,
            "pool": selectors.POOL,
        },
    )


@staff(Perm.REFERRAL_MANAGE)
def referral_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    programs = selectors.referral_programs(actor=actor)
    moment = timezone.localtime(now()).replace(second=0, microsecond=0)
    form = ReferralCreateForm(
        request.POST or None, programs=programs, initial={"received_at": moment}
    )
    if request.method == "POST" and form.is_valid():
        try:
            referral = services.referral_create(
                actor=actor,
                data=form.referral(),
                submission_token=form.cleaned_data["submission_token"],
                today=today(),
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Referral recorded.")
            return redirect("intake:detail", referral_id=referral.public_id)
    return render(
        request,
        "intake/referral_form.html",
        {"form": form, "title": "Record a referral"},
        status=422 if form.errors else 200,
    )


def _detail_context(request: HttpRequest, referral: Referral, **extra: Any) -> dict[str, Any]:
    actor = actor_of(request)
    detail = selectors.referral_detail(referral=referral)
    contact_form = extra.pop("contact_form", None) or ContactAttemptForm(
        initial={
            "attempted_at": timezone.localtime(now()).replace(second=0, microsecond=0),
            "method": referral.preferred_contact_method or "phone",
        }
    )
    move_form = extra.pop("move_form", None) or StageMoveForm(initial={"version": referral.version})
    return {
        "referral": referral,
        "detail": detail,
        "card": selectors.card_of(referral, now()),
        "contact_form": contact_form,
        "move_form": move_form,
        "teds_psource": rules.teds_referral_source(referral.source_type),
        "can_convert": actor.has_perm_code(Perm.PATIENT_REGISTER)
        and referral.patient_id is None
        and referral.stage in rules.OPEN_STAGES,
        "can_observe": actor.has_perm_code(Perm.ADMIT) and referral.stage in rules.OPEN_STAGES,
        **extra,
    }


@staff(Perm.REFERRAL_MANAGE)
def referral_detail(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(actor=actor, public_id=referral_id)
    audit_record(
        actor=actor,
        action=AuditAction.READ,
        patient=referral.patient,
        object_type="referral",
        object_id=referral.public_id,
    )
    return render(request, "intake/detail.html", _detail_context(request, referral))


@staff(Perm.REFERRAL_MANAGE)
def referral_edit(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(actor=actor, public_id=referral_id, purpose="edit")
    programs = selectors.referral_programs(actor=actor)
    conflict: services.ReferralConflict | None = None
    if request.method == "POST":
        form = ReferralEditForm(request.POST, programs=programs)
        if form.is_valid():
            try:
                services.referral_update(
                    actor=actor,
                    referral=referral,
                    data=form.referral(),
                    base_version=form.cleaned_data["version"],
                    today=today(),
                    now=now(),
                )
            except services.ReferralConflict as error:
                conflict = error
                resubmit = request.POST.copy()
                resubmit["version"] = str(error.current.version)
                form = ReferralEditForm(resubmit, programs=programs)
                form.is_valid()
                form.add_error(None, error.message)
            except ServiceError as error:
                form_error(form, error)
            else:
                messages.success(request, "Referral saved.")
                return redirect("intake:detail", referral_id=referral.public_id)
    else:
        data = services.referral_input_of(referral)
        initial = {**data.__dict__, "version": referral.version}
        initial["received_at"] = timezone.localtime(referral.received_at)
        form = ReferralEditForm(initial=initial, programs=programs)
    conflict_rows: list[tuple[str, object]] = []
    if conflict is not None:
        saved = services.referral_input_of(conflict.current)
        conflict_rows = [
            (str(form.fields[n].label or n), getattr(saved, n))
            for n in conflict.changed_fields
            if n in form.fields
        ]
    return render(
        request,
        "intake/referral_form.html",
        {
            "form": form,
            "referral": referral,
            "title": "Edit referral",
            "conflict": conflict,
            "conflict_rows": conflict_rows,
        },
        status=422 if form.errors else 200,
    )


@staff(Perm.REFERRAL_MANAGE)
@require_POST
def referral_move(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    """Move a card. From the board: with htmx the board is swapped in place; without
    JavaScript, a redirect back to the board (the same filters). From the referral
    page: back to it. A refused move re-renders with the error beside the card's form."""
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(actor=actor, public_id=referral_id, purpose="move")
    form = StageMoveForm(request.POST)
    from_detail = request.POST.get("back") == "detail"
    error: str | None = None
    if form.is_valid():
        try:
            moved = services.referral_move(
                actor=actor,
                referral=referral,
                to_stage=form.cleaned_data["to_stage"],
                reason=form.cleaned_data["reason"],
                base_version=form.cleaned_data["version"],
                now=now(),
            )
        except ServiceError as service_error:
            error = service_error.message
            form_error(form, service_error)
    else:
        error = "Choose the stage to move to."
    if from_detail:
        if error is None:
            messages.success(request, f"Moved to {rules.STAGE_LABELS[moved.stage]}.")
            return redirect("intake:detail", referral_id=referral.public_id)
        return render(
            request,
            "intake/detail.html",
            _detail_context(request, referral, move_form=form),
            status=422,
        )
    programs = selectors.referral_programs(actor=actor)
    filters = _filters(request, programs)
    if error is None:
        notice = f"{moved.display_name} moved to {rules.STAGE_LABELS[moved.stage]}."
        if _is_htmx(request):
            return _render_board(request, filters=filters, programs=programs, notice=notice)
        messages.success(request, notice)
        return redirect(_board_url(filters))
    key = str(referral.public_id)
    return _render_board(
        request,
        filters=filters,
        programs=programs,
        status=422,
        card_errors={key: error},
        typed={
            key: {
                "to_stage": request.POST.get("to_stage", ""),
                "reason": request.POST.get("reason", ""),
            }
        },
    )


@staff(Perm.REFERRAL_MANAGE)
def referral_contact(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    """Log an attempt to reach the person (the form also sits on the referral page)."""
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(
        actor=actor, public_id=referral_id, purpose="contact"
    )
    if request.method != "POST":
        return redirect(reverse("intake:detail", args=[referral.public_id]) + "#contact")
    form = ContactAttemptForm(request.POST)
    if form.is_valid():
        try:
            logged = services.referral_contact_log(
                actor=actor,
                referral=referral,
                data=form.attempt(),
                submission_token=form.cleaned_data["submission_token"],
                now=now(),
            )
        except ServiceError as error:
            form_error(form, error)
        else:
            if logged.suggest_unable_to_reach:
                messages.warning(
                    request,
                    f"{logged.failed_in_a_row} attempts in a row without reaching the person: "
                    "consider moving the referral to Unable to reach.",
                )
            else:
                messages.success(request, "Contact attempt logged.")
            return redirect("intake:detail", referral_id=referral.public_id)
    return render(
        request,
        "intake/detail.html",
        _detail_context(request, referral, contact_form=form),
        status=422,
    )


@staff(Perm.REFERRAL_MANAGE, Perm.PATIENT_REGISTER)
def referral_convert(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    """Register the referral's person as a patient: the registration form, prefilled,
    with the registry's duplicate check and warning."""
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(
        actor=actor, public_id=referral_id, purpose="convert"
    )
    if referral.patient is not None:
        messages.info(request, "This referral is already registered as a patient.")
        return redirect(
            "patients:chart_section", public_id=referral.patient.public_id, section="intake"
        )
    programs = Program.objects.filter(
        memberships__user=actor, is_active=True, site__organization_id=actor.org_id
    ).select_related("site")
    initial = {
        "legal_given_name": referral.given_name,
        "legal_family_name": referral.family_name,
        "date_of_birth": referral.date_of_birth,
        "phone": referral.phone,
        "email": referral.email,
        "program": referral.program_id,
        "initial_status": (
            "screening"
            if referral.stage in {"screening_scheduled", "assessed", "offered_admission"}
            else "referred"
        ),
    }
    form = PatientRegisterForm(request.POST or None, programs=programs, initial=initial)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.referral_convert(
                actor=actor,
                referral=referral,
                data=form.demographics(),
                program=form.cleaned_data["program"],
                initial_status=form.cleaned_data["initial_status"],
                submission_token=form.cleaned_data["submission_token"],
                confirmed_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                contact=form.contact(),
                today=today(),
                now=now(),
            )
        except DuplicateSuspected as dup:
            duplicates = [(p, p.pk in dup.visible_ids) for p in dup.matches]
            form.add_error("confirm_not_duplicate", dup.message)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Registered with MRN {patient.mrn}; the referral is linked.")
            return redirect("patients:chart_section", public_id=patient.public_id, section="intake")
    return render(
        request,
        "intake/convert.html",
        {"form": form, "referral": referral, "duplicates": duplicates},
        status=422 if form.errors else 200,
    )


def _observation_view(
    request: HttpRequest,
    *,
    staff_qs: Any,
    record: Any,
    context: dict[str, Any],
    done_url: str,
) -> HttpResponse:
    form = ObservationForm(
        request.POST or None,
        staff=staff_qs,
        initial={"visit_date": today(), "outcome": "undecided"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            record(form)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(
                request, "Observation visit recorded (not counted as attendance or billed)."
            )
            return redirect(done_url)
    return render(
        request,
        "intake/observation_form.html",
        {"form": form, **context},
        status=422 if form.errors else 200,
    )


@staff(Perm.REFERRAL_MANAGE, Perm.ADMIT)
def referral_observation(request: HttpRequest, referral_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    referral = selectors.referral_get_for_user(
        actor=actor, public_id=referral_id, purpose="observation"
    )

    def record(form: ObservationForm) -> object:
        return services.observation_record_for_referral(
            actor=actor,
            referral=referral,
            data=form.observation(),
            submission_token=form.cleaned_data["submission_token"],
            today=today(),
            now=now(),
        )

    return _observation_view(
        request,
        staff_qs=selectors.program_staff(program=referral.program, actor=actor),
        record=record,
        context={"referral": referral, "who": referral.display_name},
        done_url=reverse("intake:detail", args=[referral.public_id]),
    )


@staff(Perm.ADMIT)
def patient_observation(request: HttpRequest, public_id: UUID, episode_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="edit")
    episode = selectors.episode_for_intake(patient=access.patient, public_id=episode_id)

    def record(form: ObservationForm) -> object:
        return services.observation_record_for_patient(
            actor=actor,
            access=access,
            episode_public_id=episode.public_id,
            data=form.observation(),
            submission_token=form.cleaned_data["submission_token"],
            today=today(),
            now=now(),
        )

    return _observation_view(
        request,
        staff_qs=selectors.program_staff(program=episode.program, actor=actor),
        record=record,
        context={"patient": access.patient, "episode": episode, "who": access.patient.display_name},
        done_url=reverse("patients:chart_section", args=[access.patient.public_id, "intake"]),
    )


@staff(Perm.ADMIT)
@require_POST
def observation_entered_in_error(request: HttpRequest, visit_id: UUID) -> HttpResponse:
    actor = actor_of(request)
    visit = (
        ObservationVisit.objects.select_related("referral", "patient")
        .filter(public_id=visit_id, organization_id=actor.org_id)
        .first()
    )
    if visit is None:
        audit_record(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            outcome=AuditOutcome.DENIED,
            object_type="observation_visit",
            object_id=str(visit_id),
            detail={"purpose": "edit"},
        )
        raise Http404("No such visit.")
    # The visit is seen through its patient's chart, or else through its referral.
    if visit.patient is not None:
        patient_get_for_user(
            actor=actor, public_id=visit.patient.public_id, now=now(), purpose="edit"
        )
        back = reverse("patients:chart_section", args=[visit.patient.public_id, "intake"])
    else:
        assert visit.referral is not None
        selectors.referral_get_for_user(
            actor=actor, public_id=visit.referral.public_id, purpose="edit"
        )
        back = reverse("intake:detail", args=[visit.referral.public_id])
    form = EnteredInErrorForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why this visit is in error.")
        return redirect(back)
    try:
        services.observation_mark_entered_in_error(
            actor=actor, visit=visit, reason=form.cleaned_data["reason"], now=now()
        )
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Observation visit marked as entered in error.")
    return redirect(back)


@staff(Perm.ADMIT)
def episode_admit(request: HttpRequest, public_id: UUID, episode_id: UUID) -> HttpResponse:
    """Admit a patient: the episode becomes active (refused while consents are missing)."""
    actor = actor_of(request)
    access = patient_get_for_user(actor=actor, public_id=public_id, now=now(), purpose="admit")
    episode = selectors.episode_for_intake(patient=access.patient, public_id=episode_id)
    staff_qs = selectors.program_staff(program=episode.program, actor=actor)
    referral = selectors.referral_for_episode(episode=episode)
    assessed = services.assessed_level_of_care(patient=access.patient)
    level = rules.admission_level(assessed_level=assessed, valid_levels=LevelOfCare.values)
    initial = {
        "start_date": today(),
        "level_of_care": level,
        "expected_weeks": 12,
        "schedule_preference": referral.schedule_preference if referral else "either",
        "primary_counselor": episode.primary_counselor_id,
        "prescriber": episode.prescriber_id,
        "case_manager": episode.case_manager_id,
        "version": episode.version,
    }
    form = AdmissionForm(request.POST or None, staff=staff_qs, initial=initial)
    refused: services.AdmissionRefused | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.episode_admit(
                actor=actor,
                access=access,
                episode_public_id=episode.public_id,
                data=form.admission(),
                base_version=form.cleaned_data["version"],
                submission_token=form.cleaned_data["submission_token"],
                today=today(),
                now=now(),
            )
        except services.AdmissionRefused as error:
            refused = error
            form_error(form, error)
        except ServiceError as error:
            form_error(form, error)
        else:
            messages.success(request, "Admitted: the episode is active.")
            return redirect(
                "patients:chart_section", public_id=access.patient.public_id, section="intake"
            )
    return render(
        request,
        "intake/admit.html",
        {
            "form": form,
            "patient": access.patient,
            "episode": episode,
            "referral": referral,
            "assessed_level": assessed,
            "refused": refused,
        },
        status=422 if form.errors else 200,
    )
