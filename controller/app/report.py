"""A printable per-patient progress report: one HTML page with an inline SVG plot, no scripts and
nothing fetched, so it prints and archives as it is."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from controller.app.clinic import Clinic, DecisionRecord, Plan
from controller.app.store import SessionRecord

WIDTH, HEIGHT, MARGIN = 720, 260, 44


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: int
    started: str
    reps: int
    failed: int
    mean_lowering_s: float
    mean_lowering_force_n: float
    peak_speed_mps: float


def summarise(record: SessionRecord) -> SessionSummary:
    reps = [rep for s in record.sets for rep in s.reps]
    done = [rep for rep in reps if not rep.failed] or reps
    count = max(1, len(done))
    return SessionSummary(
        record.id,
        record.started,
        len(reps),
        sum(1 for rep in reps if rep.failed),
        sum(rep.eccentric_s for rep in done) / count,
        sum(rep.mean_eccentric_force_n for rep in done) / count,
        max((rep.peak_speed_mps for rep in reps), default=0.0),
    )


def render_report(clinic: Clinic, person: str) -> str:
    plan = clinic.plan_for(person)
    if plan is None:
        return _page(person, f"<p>{escape(person)} has no protocol assigned.</p>")
    decisions = clinic.decisions(plan)
    person_id = clinic.store.person_named(person)
    sessions = [summarise(clinic.store.session(s)) for s in clinic.store.sessions(person_id)]
    body = "\n".join(
        [
            _plan_header(plan, decisions),
            _plot(decisions),
            "<h2>Decisions</h2>",
            _decision_table(plan, decisions),
            "<h2>Sessions</h2>",
            _session_table(sessions),
        ]
    )
    return _page(person, body)


def _plan_header(plan: Plan, decisions: list[DecisionRecord]) -> str:
    p = plan.protocol
    latest = decisions[-1].decision if decisions else None
    now = (
        f"session {latest.session_number} of {p.sessions}, stage {latest.stage + 1} "
        f"({escape(p.stages[latest.stage].name)}), {latest.load_kg:g} kg"
        if latest
        else "not started"
    )
    return (
        f"<p><b>{escape(p.title)}</b> for {escape(p.condition)}; assigned by {escape(plan.assigned_by)} "
        f"on {escape(plan.started[:10])}. Now: {now}.</p>"
        f"<p class=src>Protocol: {escape(p.source)}. Advance when every rep is done on tempo and "
        f"soreness is at most {p.pain_limit}/10; step back when soreness is above "
        f"{p.step_back_above}/10.</p>"
    )


def _plot(decisions: list[DecisionRecord]) -> str:
    """Load (line, left axis) and soreness (bars, right axis 0-10) per session."""
    if not decisions:
        return ""
    n = len(decisions)
    top_kg = max(d.decision.load_kg for d in decisions) * 1.15
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def x(i: int) -> float:
        return MARGIN + inner_w * (i + 0.5) / n

    def y_kg(kg: float) -> float:
        return HEIGHT - MARGIN - inner_h * kg / top_kg

    bar_w = max(2.0, inner_w / n * 0.5)
    bars = []
    for i, d in enumerate(decisions):
        tall = inner_h * d.decision.soreness / 10
        bars.append(
            f'<rect class="sore" x="{x(i) - bar_w / 2:.1f}" y="{HEIGHT - MARGIN - tall:.1f}" '
            f'width="{bar_w:.1f}" height="{tall:.1f}"/>'
        )
    points = " ".join(f"{x(i):.1f},{y_kg(d.decision.load_kg):.1f}" for i, d in enumerate(decisions))
    marks = "".join(
        f'<circle class="{d.decision.action.value}" cx="{x(i):.1f}" '
        f'cy="{y_kg(d.decision.load_kg):.1f}" r="4">'
        f"<title>session {d.decision.session_number}: {escape(d.decision.reason)}</title></circle>"
        for i, d in enumerate(decisions)
    )
    bottom = HEIGHT - MARGIN
    axes = (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{WIDTH - MARGIN}" y2="{bottom}" class="axis"/>'
        f'<text x="{MARGIN}" y="{MARGIN - 12}">load, kg (max {top_kg / 1.15:g})</text>'
        f'<text x="{WIDTH - MARGIN}" y="{MARGIN - 12}" text-anchor="end">soreness 0-10 (bars)</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 10}" text-anchor="middle">session 1 to {n}</text>'
    )
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="load and soreness per session">{axes}{"".join(bars)}'
        f'<polyline class="load" points="{points}"/>{marks}</svg>'
    )


def _decision_table(plan: Plan, decisions: list[DecisionRecord]) -> str:
    rows = [_row(["#", "date", "stage", "soreness", "decision", "kg", "why"], "th")]
    for d in decisions:
        cells = [
            str(d.decision.session_number),
            d.at[:10],
            plan.protocol.stages[d.decision.stage].name,
            str(d.decision.soreness),
            d.decision.action.value.replace("_", " "),
            f"{d.decision.load_kg:g}",
            d.decision.reason,
        ]
        rows.append(_row(cells, cls=d.decision.action.value))
    return f"<table>{''.join(rows)}</table>"


def _row(cells: list[str], tag: str = "td", cls: str = "") -> str:
    inner = "".join(f"<{tag}>{escape(cell)}</{tag}>" for cell in cells)
    return f'<tr class="{cls}">{inner}</tr>' if cls else f"<tr>{inner}</tr>"


def _session_table(sessions: list[SessionSummary]) -> str:
    head = ["session", "started", "reps", "failed", "lowering, s", "lowering force, N", "peak speed, m/s"]
    rows = [_row(head, "th")]
    for s in sessions:
        cells = [str(s.session_id), s.started[:16], str(s.reps), str(s.failed)]
        cells += [f"{s.mean_lowering_s:.1f}", f"{s.mean_lowering_force_n:.0f}", f"{s.peak_speed_mps:.2f}"]
        rows.append(_row(cells))
    return f"<table>{''.join(rows)}</table>"


STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #ccc; padding: 3px 6px; }
th { background: #f2f2f2; text-align: left; } tr.step_back td { background: #fde8e8; }
tr.advance td:nth-child(5) { color: #176b2c; } .src { color: #555; font-size: 0.9em; }
svg .axis { stroke: #333; } svg .load { fill: none; stroke: #1f5fbf; stroke-width: 2; }
svg .sore { fill: #f0a35e; opacity: 0.6; } svg circle { fill: #1f5fbf; }
svg circle.step_back { fill: #c62828; } svg circle.hold { fill: #888; } svg text { font-size: 12px; }
@media print { body { margin: 0; } tr { break-inside: avoid; } }
"""


def _page(person: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Progress: {escape(person)}</title>"
        f"<style>{STYLE}</style></head><body><h1>Progress report: {escape(person)}</h1>{body}</body></html>"
    )
