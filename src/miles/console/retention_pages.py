"""The loyalty team's retention pages (managers; 403 for everyone else): service recovery, the 12 months
after a complaint for members who were compensated and those who were not, side by side, as bar charts
(inline SVG, miles.console.finance.bars) and as a CSV download. The same figures as
GET /v1/analytics/service-recovery."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRouter
from markupsafe import Markup

from miles.console.finance.bars import Chart, Number, Series, grouped_bars
from miles.console.forms import FieldErrors, query_line
from miles.console.page_errors import ConsolePageRoute
from miles.console.rendering import SECURITY_HEADERS, render
from miles.console.security import manager_session
from miles.console.state import in_thread
from miles.domain.complaints import GroupFigures, check_report_day
from miles.domain.errors import InvalidInput
from miles.http_errors import status_for, status_of
from miles.services.agents import ConsoleSession
from miles.services.complaints import RecoveryReport, default_report_range, service_recovery_report

router = APIRouter(prefix="/console/retention", include_in_schema=False, route_class=ConsolePageRoute)
Manager = Annotated[ConsoleSession, Depends(manager_session)]
GROUPS = ("Compensated", "Not compensated")


def _percent(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else (value * 100).quantize(Decimal("0.1"))


def _average(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def recovery_charts(report: RecoveryReport) -> dict[str, Markup]:
    """Shares (active, left) in percent, and flights per member, a bar per group in each label's group."""
    groups = (report.compensated, report.not_compensated)
    empty = "No complaint recorded in this range."

    def series(values: list[list[Number]]) -> list[Series]:
        return [Series(name, v) for name, v in zip(GROUPS, values, strict=True)]

    def shares(g: GroupFigures) -> list[Number]:
        return [_percent(g.share_active), _percent(g.share_left)]

    return {
        "shares": grouped_bars(
            Chart(
                testid="recovery-shares-chart",
                title="Still active and left in the 12 months after a complaint (% of members)",
                labels=["still active", "left"],
                series=series([shares(g) for g in groups]),
                y_label="% of members",
                x_label="figure",
                series_attr="group",
                label_attr="figure",
                value_attr="percent",
                empty=empty,
                show=lambda v: f"{v}%",
            )
        ),
        "flights": grouped_bars(
            Chart(
                testid="recovery-flights-chart",
                title="Flights per member in the 12 months after a complaint",
                labels=["flights per member"],
                series=series([[_average(g.flights_per_member)] for g in groups]),
                y_label="flights per member",
                x_label="figure",
                series_attr="group",
                label_attr="figure",
                value_attr="flights",
                empty=empty,
                show=lambda v: f"{v}",
            )
        ),
    }


def _range(values: dict[str, str], errors: FieldErrors) -> tuple[date, date] | None:
    first = errors.iso_date(values, "from", "From") if values.get("from") else None
    last = errors.iso_date(values, "to", "To") if values.get("to") else None
    for name, day in (("from", first), ("to", last)):
        if day is not None:
            try:
                check_report_day(day, name)
            except InvalidInput as exc:
                errors.add(name, exc.message)
    if errors or first is None or last is None:
        return None
    return first, last


async def _read(request: Request, first_raw: str, last_raw: str) -> tuple[dict[str, str], FieldErrors]:
    values, errors = {"from": first_raw, "to": last_raw}, FieldErrors()
    if not first_raw or not last_raw:
        default_from, default_to = await in_thread(request, default_report_range)
        values["from"] = first_raw or default_from.isoformat()
        values["to"] = last_raw or default_to.isoformat()
    return values, errors


async def _report(
    request: Request, values: dict[str, str], errors: FieldErrors
) -> tuple[RecoveryReport | None, int]:
    bounds = _range(values, errors)
    if bounds is None:
        return None, status_for(InvalidInput)
    try:
        return await in_thread(request, lambda c: service_recovery_report(c, *bounds)), 200
    except InvalidInput as exc:
        errors.add_error(exc)
        return None, status_of(exc)


REPORT_COLUMNS = (
    "group",
    "members",
    "complaints",
    "complaints_full_year",
    "members_full_year",
    "members_active",
    "share_active",
    "flights",
    "flights_per_member",
    "miles_earned",
    "miles_per_member",
    "members_left",
    "share_left",
)


def report_csv(report: RecoveryReport) -> str:
    """The report as CSV: a line per group, then the difference; the range and date in the first columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("from", "to", "as_of", *REPORT_COLUMNS))
    head = (report.from_date.isoformat(), report.to_date.isoformat(), report.as_of.isoformat())

    def cell(value: object) -> str:
        return "" if value is None else str(value)

    for name, g in (("compensated", report.compensated), ("not_compensated", report.not_compensated)):
        writer.writerow(
            (
                *head,
                name,
                g.members,
                g.complaints,
                g.complaints_full_year,
                g.members_full_year,
                g.members_active,
                cell(g.share_active),
                g.flights,
                cell(g.flights_per_member),
                g.miles_earned,
                cell(g.miles_per_member),
                g.members_left,
                cell(g.share_left),
            )
        )
    d = report.difference
    writer.writerow(
        (
            *head,
            "difference",
            *[""] * 5,
            cell(d.share_active),
            "",
            cell(d.flights_per_member),
            "",
            cell(d.miles_per_member),
            "",
            cell(d.share_left),
        )
    )
    return out.getvalue()


FromDay = Annotated[str, Depends(query_line("from", 40))]
ToDay = Annotated[str, Depends(query_line("to", 40))]


@router.get("/service-recovery")
async def service_recovery(request: Request, session: Manager, first: FromDay, last: ToDay) -> Response:
    values, errors = await _read(request, first, last)
    report, status = await _report(request, values, errors)
    return _page(request, values, errors, report, status)


def _page(
    request: Request, values: dict[str, str], errors: FieldErrors, report: RecoveryReport | None, status: int
) -> Response:
    context = {
        "values": values,
        "errors": errors.errors,
        "r": report,
        "charts": recovery_charts(report) if report else {},
    }
    return render(request, "retention/service_recovery.html", context, status)


@router.get("/service-recovery.csv")
async def service_recovery_csv(request: Request, session: Manager, first: FromDay, last: ToDay) -> Response:
    values, errors = await _read(request, first, last)
    report, status = await _report(request, values, errors)
    if report is None:
        return _page(request, values, errors, None, status)  # the page, each problem next to its field
    name = f"service-recovery-{report.from_date}-{report.to_date}.csv"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
