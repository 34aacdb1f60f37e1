"""Text renderings of a plan for ``import --dry-run``."""

from __future__ import annotations

from typing import Any

from migrate.plan import STAGES, Plan

__all__ = ["render_plan"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def render_plan(plan: Plan, *, verbose: bool = False) -> str:
    """Render the plan: counts per stage, and with ``verbose`` every operation and its diff.

    Secrets never appear: diffs carry ``***`` for passwords, and calls are shown redacted.
    """
    lines = ["plan (dry run, nothing was sent):"]
    if not plan.operations:
        lines.append("  nothing to do: the target already matches the input")
    for number, name in enumerate(STAGES):
        ops = plan.stage(number)
        if not ops:
            continue
        counts: dict[str, int] = {}
        for op in ops:
            counts[op.action] = counts.get(op.action, 0) + 1
        summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
        lines.append(f"  stage {number + 1} {name}: {summary}")
        if verbose:
            for op in ops:
                lines.append(f"    {op.action} {op.kind} {op.key}")
                for field, (have, want) in op.diff.items():
                    lines.append(f"      {field}: {_short(have)} -> {_short(want)}")
                for call in op.calls:
                    lines.append(f"      {call.method} {call.path} {call.redacted()}")
    unchanged = sum(1 for index, ids in plan.by_entry.items() if not ids and index not in plan.skipped)
    lines.append(f"  rows unchanged: {unchanged}; writes: {plan.writes}; lists become: {plan.list_kind}")
    reasons: dict[str, int] = {}
    for code, _ in plan.skipped.values():
        reasons[code] = reasons.get(code, 0) + 1
    for code, count in sorted(reasons.items()):
        example = next(message for c, message in plan.skipped.values() if c == code)
        lines.append(f"  rows not sent: {count} ({code}: {example})")
    for note in plan.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
