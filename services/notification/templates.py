"""Templates with named variables (N-2): `{member_name}`, with `{{` and `}}` for literal braces.

An optional part, `{?，本次积分{points_earned}分?}`, is shown only when every variable in it
has a value: a fact that may be missing when the message is sent (points the points service
never reported) leaves out its words instead of a hole in the sentence.

A template is parsed, never evaluated: the only thing a placeholder can do is be
replaced by the text of a variable the kind offers, so a template cannot run code
or reach an attribute (no `eval`, no `str.format`, no Jinja). An unknown variable
or a stray brace is refused when the template is saved, naming what is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_TOKEN = re.compile(r"\{\{|\}\}|\{\?|\?\}|\{([A-Za-z_][A-Za-z0-9_]{0,39})\}|[{}]")


class TemplateError(ValueError):
    """What is wrong with a template, in words for the person who wrote it."""


def _pieces(template: str) -> list[tuple[str, str]]:
    """The template as ("text", ...) and ("var", name) pieces."""
    pieces: list[tuple[str, str]] = []
    position = 0
    inside = False  # within an optional part
    for match in _TOKEN.finditer(template):
        if match.start() > position:
            pieces.append(("text", template[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append(("text", token[0]))
        elif token in ("{?", "?}"):
            opening = token == "{?"
            if opening == inside:
                where = f"at character {match.start() + 1}"
                raise TemplateError(
                    f"An optional part cannot hold another ('{{?' {where})."
                    if opening
                    else f"'?}}' {where} closes no optional part: write one as {{?...?}}."
                )
            inside = opening
            pieces.append(("open" if opening else "close", ""))
        elif match.group(1) is not None:
            pieces.append(("var", match.group(1)))
        else:
            raise TemplateError(
                f"Stray '{token}' at character {match.start() + 1}: write variables as {{name}} "
                "and a literal brace as {{ or }}."
            )
        position = match.end()
    if position < len(template):
        pieces.append(("text", template[position:]))
    if inside:
        raise TemplateError("An optional part {?... is not closed with ?}.")
    return pieces


def variables_used(template: str) -> list[str]:
    """The variable names in `template`, in order of first use."""
    seen: list[str] = []
    for kind, value in _pieces(template):
        if kind == "var" and value not in seen:
            seen.append(value)
    return seen


def check(template: str, offered: Iterable[str]) -> None:
    """Refuse a template that uses a variable its kind does not offer."""
    allowed = set(offered)
    unknown = [name for name in variables_used(template) if name not in allowed]
    if unknown:
        names = ", ".join("{" + n + "}" for n in unknown)
        raise TemplateError(f"Unknown variable {names}; this kind offers: {', '.join(sorted(allowed))}.")


def render(template: str, values: Mapping[str, str | None]) -> str:
    """Fill the variables; one the message has no value for is left empty (the template was
    checked when saved, so that happens only for a fact the event did not carry), and an
    optional part with such a variable is left out whole."""
    out: list[str] = []
    part: list[str] | None = None  # the optional part being filled, None outside one
    complete = True
    for kind, value in _pieces(template):
        if kind == "open":
            part, complete = [], True
        elif kind == "close":
            if complete:
                out.extend(part or [])
            part = None
        else:
            known = values.get(value) if kind == "var" else value
            complete = complete and known is not None
            (out if part is None else part).append("" if known is None else str(known))
    return "".join(out)
