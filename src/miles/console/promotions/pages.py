"""Managers' pages (403 for everyone else): the promotions, a form to create one, each promotion's page
with its figures and its miles per day, and ending one.

The form is flat (one input per field, lists written with spaces or commas, empty meaning "any"); it is
turned into the API's body and checked by the API's own shape (`PromotionRequest`), then by the domain
against the programme. Each problem is shown next to its input, what was typed is kept, nothing is
written while any remains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from miles.api.promotion_schemas import PromotionRequest
from miles.console.forms import read_form
from miles.console.page_errors import ConsolePageRoute
from miles.console.promotions.chart import miles_per_day_chart
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import manager_session
from miles.console.state import in_thread
from miles.domain.errors import Conflict, InvalidInput, NotFound
from miles.domain.programme.carriers import CABINS
from miles.http_errors import status_for, status_of
from miles.services.agents import ConsoleSession
from miles.services.promotions import campaigns
from miles.services.runtime import Runtime

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsolePageRoute)
Manager = Annotated[ConsoleSession, Depends(manager_session)]

PROMOTION_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")
TRIGGERS = ("flight", "challenge", "birthday", "enrolment", "partner")
EFFECT_KINDS = ("multiplier", "percent", "fixed", "metric")
EFFECT_FIELDS = {
    "multiplier": ("value",),
    "percent": ("value",),
    "fixed": ("miles",),
    "metric": ("metric", "amount"),
}
AUDIENCE_NUMBERS = ("inactive_for_months", "enrolled_within_days")
CONDITION_LISTS = (
    "carriers",
    "routes",
    "origins",
    "destinations",
    "cabins",
    "booking_classes",
    "partners",
    "activity_kinds",
)
LOWER_CASE_LISTS = ("cabins", "activity_kinds")
LIMITS = ("per_member_miles", "per_member_times", "budget_miles")
FIELDS = frozenset(
    {
        "code",
        "name",
        "trigger",
        "starts_on",
        "ends_on",
        "registration_required",
        "tiers",
        *AUDIENCE_NUMBERS,
        *CONDITION_LISTS,
        "min_distance",
        "effect_kind",
        "effect_value",
        "effect_miles",
        "effect_metric",
        "effect_amount",
        *LIMITS,
        "challenge_segments",
        "challenge_repeat",
        "stacking_group",
    }
)
# what a value that does not match its field's pattern should look like
HINTS = {
    "code": "capital letters, digits, - and _ (at most 40), like DBL-LHR",
    "tiers": "tier codes of the programme: capital letters, digits and _",
    "carriers": "2-character carrier codes, like YY",
    "routes": "routes are written ORIGIN-DESTINATION, like JFK-LHR",
    "origins": "airport codes, like JFK",
    "destinations": "airport codes, like LHR",
    "booking_classes": "one letter each, like Y",
    "partners": "partner codes of the programme, like HTL",
    "activity_kinds": "activity kinds of those partners, like stay",
}


def form_field(path: str) -> str:
    """The form's input for a field the API or the domain names (`effect.value` -> `effect_value`,
    `conditions.routes[1]` -> `routes`); `form` when the form has no input for it."""
    parts = re.sub(r"\[[0-9]+\]", "", path).split(".")
    if parts[0] in ("audience", "conditions", "limits") and len(parts) > 1:
        name = parts[1]
    elif parts[0] == "effect":
        name = f"effect_{parts[1]}" if len(parts) > 1 else "effect_kind"
    elif parts[0] == "challenge":
        name = f"challenge_{parts[1]}" if len(parts) > 1 else "challenge_segments"
    else:
        name = parts[0]
    return name if name in FIELDS else "form"


def _words(raw: str, upper: bool = True) -> list[str]:
    seen: dict[str, None] = {}
    for word in re.split(r"[\s,;]+", raw):
        if word:
            seen[word.upper() if upper else word.lower()] = None
    return list(seen)


class FormProblems:
    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def whole(self, values: dict[str, str], name: str) -> int | None:
        raw = values.get(name, "").replace(",", "").replace("_", "").replace(" ", "")
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()):
            self.add(name, "a whole number, like 3 (leave it empty for none)")
            return None
        return int(raw)


def promotion_body(values: dict[str, str], problems: FormProblems) -> dict[str, Any]:
    """The API's body for the form's values: empty inputs left out (any, none), lists split."""
    body: dict[str, Any] = {}
    for name in ("code", "name", "trigger", "starts_on", "ends_on"):
        if values.get(name):
            body[name] = values[name].upper() if name == "code" else values[name]
    body["registration_required"] = bool(values.get("registration_required"))
    audience: dict[str, Any] = {"tiers": _words(values.get("tiers", ""))}
    for name in AUDIENCE_NUMBERS:
        audience[name] = problems.whole(values, name)
    conditions: dict[str, Any] = {
        name: _words(values.get(name, ""), upper=name not in LOWER_CASE_LISTS) for name in CONDITION_LISTS
    }
    conditions["min_distance"] = problems.whole(values, "min_distance")
    body |= {"audience": audience, "conditions": conditions}
    kind = values.get("effect_kind", "")
    effect: dict[str, Any] = {"kind": kind} if kind else {}
    for name in EFFECT_FIELDS.get(kind, ()):  # only the inputs of the chosen kind
        if name == "miles":
            effect[name] = problems.whole(values, "effect_miles")
        elif values.get(f"effect_{name}"):
            effect[name] = values[f"effect_{name}"].replace(",", "")
    body["effect"] = effect
    body["limits"] = {name: problems.whole(values, name) for name in LIMITS}
    segments = problems.whole(values, "challenge_segments")
    if values.get("trigger") == "challenge" or segments is not None:
        body["challenge"] = {"segments": segments, "repeat": bool(values.get("challenge_repeat"))}
        if segments is None and "challenge_segments" not in problems.errors:
            problems.add("challenge_segments", "a challenge says how many segments earn its bonus")
    if values.get("stacking_group"):
        body["stacking_group"] = values["stacking_group"]
    return body


def _message(error: Any, field: str) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return f"{field.replace('_', ' ')} is required"
    if kind == "string_pattern_mismatch" and field in HINTS:
        return HINTS[field]
    return str(error.get("msg", "not valid")).removeprefix("Value error, ")


def parse_promotion(values: dict[str, str], problems: FormProblems) -> PromotionRequest | None:
    body = promotion_body(values, problems)
    try:
        parsed = PromotionRequest.model_validate(body)
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(p) for p in error.get("loc", ()))
            named = re.search(r"`([a-z_]+)`", str(error.get("msg", "")))
            if path == "effect" and named:  # "a fixed effect needs `miles`": next to the miles
                path = f"effect.{named.group(1)}"
            field = form_field(path)
            problems.add(field, _message(error, field))
        return None
    return None if problems.errors else parsed


@dataclass(frozen=True)
class Choices:
    tiers: tuple[str, ...]
    metrics: tuple[str, ...]
    cabins: tuple[str, ...] = CABINS
    triggers: tuple[str, ...] = TRIGGERS
    kinds: tuple[str, ...] = EFFECT_KINDS
    partners: tuple[str, ...] = ()
    activity_kinds: tuple[str, ...] = ()


def programme_choices(runtime: Runtime) -> Choices:
    """What the programme in force has for a promotion to name."""
    with runtime.uow() as uow:
        programme = runtime.catalog.current(uow).versions[-1]
        kinds = sorted({kind for c in programme.partners.values() for kind in c.activities})
        return Choices(
            tiers=tuple(programme.ladder.codes),
            metrics=tuple(programme.metric_codes),
            partners=tuple(programme.partners),
            activity_kinds=tuple(kinds),
        )


async def _form(
    request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    choices = await in_thread(request, programme_choices)
    return render(
        request,
        "promotions/form.html",
        {"values": values, "errors": errors, "choices": choices},
        status_code,
    )


def _known_code(code: str) -> str:
    if not PROMOTION_CODE.fullmatch(code):
        raise NotFound(f"no promotion {code[:40]}", field="code", code="promotion_not_found")
    return code


@router.get("/promotions")
async def listing(request: Request, session: Manager) -> Response:
    promotions = await in_thread(request, campaigns.list_promotions)
    return render(request, "promotions/list.html", {"promotions": promotions})


@router.get("/promotions/new")
async def new(request: Request, session: Manager) -> Response:
    return await _form(request, {"trigger": "flight", "effect_kind": "multiplier"}, {})


@router.post("/promotions")
async def create(request: Request, session: Manager) -> Response:
    values = await read_form(request)
    problems = FormProblems()
    parsed = parse_promotion(values, problems)
    if parsed is None:
        return await _form(request, values, problems.errors, status_for(InvalidInput))
    body = parsed.document()
    promotion = parsed.promotion()
    try:
        outcome = await in_thread(
            request, lambda c: campaigns.create_promotion(c, session.actor, None, promotion, body)
        )
    except (InvalidInput, Conflict) as exc:  # checked against the programme, or the code is taken
        problems.add(form_field(exc.field or "form"), exc.message)
        return await _form(request, values, problems.errors, status_of(exc))
    target = f"/console/promotions/{outcome.value.code}"
    return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


@router.get("/promotions/{code}")
async def detail(code: str, request: Request, session: Manager) -> Response:
    _known_code(code)
    view = await in_thread(request, lambda c: campaigns.read_promotion(c, code))
    days = await in_thread(request, lambda c: campaigns.awarded_per_day(c, code))
    chart = miles_per_day_chart(days, title=f"Miles awarded per day by {view.code}")
    return render(request, "promotions/detail.html", {"p": view, "days": days, "chart": chart})


@router.post("/promotions/{code}/end")
async def end(code: str, request: Request, session: Manager) -> Response:
    _known_code(code)
    await in_thread(request, lambda c: campaigns.end_promotion(c, session.actor, code))
    return RedirectResponse(f"/console/promotions/{code}", status_code=303, headers=SECURITY_HEADERS)
