"""HTML building blocks of the dashboard: escaping, the page frame, numbers and sparklines.

Every value that reaches a page goes through `e` (text and attribute values) or `q` (a part of
a URL), so a hostile agent name or error message is shown as text, never run.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final
from urllib.parse import quote, urlencode

REFRESH_S: Final = 30
"""How often a live page reloads itself."""

_STYLE: Final = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem 2rem; color: #1d2330; }
a { color: #1d4ed8; text-decoration: none; } a:hover { text-decoration: underline; }
h1 { font-size: 1.4rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 2rem 0 .5rem; }
nav { margin-bottom: 1rem; color: #5b6475; } nav a { margin-right: .2rem; }
.sub { color: #5b6475; margin-bottom: 1rem; }
.muted, .note { color: #5b6475; } .note { margin: .3rem 0 .8rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: .5rem; }
th, td { text-align: left; padding: .3rem .55rem; border-bottom: 1px solid #e4e7ee;
         vertical-align: top; }
th { font-weight: 600; color: #5b6475; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-weight: 600;
         font-size: 12px; white-space: nowrap; }
.healthy, .ok, .none { background: #dcfae6; color: #067647; }
.degraded, .moderate, .incomplete, .silent-failure { background: #fef0c7; color: #93370d; }
.failing, .error, .major { background: #fee4e2; color: #b42318; }
.silent { background: #e4e7ec; color: #344054; }
.not_enough_data, .unknown { background: #f2f4f7; color: #5b6475; }
.window a.current { font-weight: 700; color: #1d2330; }
code, .mono { font: 12px ui-monospace, monospace; color: #344054; }
.msg { font: 12px ui-monospace, monospace; color: #7a271a; white-space: pre-wrap;
       word-break: break-word; }
.tree td.name, td.agent { white-space: nowrap; } td.timeline { min-width: 14rem; }
.bar { height: 8px; background: #c7d7fe; border-radius: 2px; min-width: 1px; }
.bar.error { background: #fda29b; }
svg.spark { display: block; margin: .3rem 0; }
.legend span { margin-right: 1rem; } .legend i { display: inline-block; width: 1rem;
         height: 3px; vertical-align: middle; margin-right: .3rem; }
form.signout { float: right; margin: 0; }
form.signin label { display: block; margin: 1rem 0 .5rem; }
form.signin input { font: inherit; padding: .3rem .4rem; width: 24rem; max-width: 100%; }
.refused { color: #b42318; font-weight: 600; }
"""


def e(value: object) -> str:
    """Text or attribute value, escaped (None is empty)."""
    return html.escape("" if value is None else str(value), quote=True)


def q(value: object) -> str:
    """One path segment, percent-encoded (slashes too)."""
    return quote("" if value is None else str(value), safe="")


def href(path: str, params: Mapping[str, object | None] | None = None) -> str:
    """A link target: `path` (already encoded) and its query, leaving out empty values; escaped
    for an attribute."""
    query = {k: str(v) for k, v in (params or {}).items() if v is not None and v != ""}
    return e(path + ("?" + urlencode(query) if query else ""))


SIGN_OUT: Final = (
    "<form class='signout' method='post' action='/logout'>"
    "<button type='submit'>sign out</button></form>"
)
"""The header's sign-out button, on pages reached with the sign-in cookie."""


# The tab's icon, inline: without one the browser asks for /favicon.ico on every page.
_ICON: Final = (
    '<link rel="icon" href="data:image/svg+xml,'
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'>"
    "<circle cx='8' cy='8' r='6.5' fill='%231d4ed8'/><circle cx='8' cy='8' r='2.5' fill='white'/>"
    '</svg>">'
)


def page(title: str, body: str, *, refresh: bool = True, signed_in: bool = False) -> str:
    """A whole document around `body`; live pages reload themselves every REFRESH_S; a page
    reached with the sign-in cookie offers to sign out."""
    meta = f"<meta http-equiv='refresh' content='{REFRESH_S}'>" if refresh else ""
    if signed_in:
        body = SIGN_OUT + body
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"{_ICON}{meta}<title>{e(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def badge(word: object, title: object | None = None) -> str:
    """A coloured word (a status, a verdict, a severity)."""
    tip = f" title='{e(title)}'" if title else ""
    return f"<span class='badge {e(word)}'{tip}>{e(word)}</span>"


def ms(value: float | None) -> str:
    """A duration in milliseconds, short: `850 ms`, `12.4 s`, `3.2 min`."""
    if value is None:
        return "–"
    if value < 1:
        return f"{value:.2f} ms"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"


def pct(value: float | None) -> str:
    """A share as a percentage."""
    if value is None:
        return "–"
    if value == 0:
        return "0%"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def num(value: float | None, digits: int = 3) -> str:
    """A statistic, rounded."""
    return "–" if value is None else f"{value:.{digits}g}"


def table(headers: str, rows: Iterable[str], *, numeric: Iterable[int] = ()) -> str:
    """A table: `headers` plain text separated by `|`, `rows` ready-made `<tr>…</tr>`."""
    right = set(numeric)
    head = "".join(
        f"<th class='num'>{e(h)}</th>" if i in right else f"<th>{e(h)}</th>"
        for i, h in enumerate(headers.split("|"))
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def td(content: str, *, numeric: bool = False, css: str = "") -> str:
    """A cell holding ready-made HTML."""
    classes = " ".join(c for c in ("num" if numeric else "", css) if c)
    return f"<td class='{classes}'>{content}</td>" if classes else f"<td>{content}</td>"


def window_links(path: str, params: Mapping[str, object | None], since: str) -> str:
    """Links to the same page over other windows."""
    links = []
    for choice in ("1h", "24h", "7d", "30d"):
        current = " class='current'" if choice == since else ""
        target = href(path, {**params, "since": choice})
        links.append(f"<a{current} href='{target}'>{choice}</a>")
    return f"<span class='window'>last {' · '.join(links)}</span>"


Series = tuple[str, str, Sequence[float | None]]
"""A line of a sparkline: its label, its colour and its values (None: no data there)."""


def sparkline(
    series: Sequence[Series], labels: Sequence[str], fmt: Callable[[float], str] = ms
) -> str:
    """An inline SVG chart of a few lines over the same buckets, with a legend.

    Each point carries a tooltip (`labels[i]` and the value written by `fmt`); gaps stay gaps.
    """
    width, height, pad = 640, 90, 4
    values = [v for _, _, line in series for v in line if v is not None]
    if not values or not labels:
        return "<p class='muted'>No data in this window.</p>"
    top = max(values) or 1.0
    count = len(labels)
    step = (width - 2 * pad) / max(count - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{pad + i * step:.1f},{height - pad - (v / top) * (height - 2 * pad):.1f}"

    parts = []
    for name, colour, line in series:
        runs: list[list[str]] = [[]]
        dots = []
        for i, v in enumerate(line):
            if v is None:
                runs.append([])
                continue
            runs[-1].append(xy(i, v))
            x, y = xy(i, v).split(",")
            dots.append(
                f"<circle cx='{x}' cy='{y}' r='2' fill='{colour}'>"
                f"<title>{e(name)} {e(labels[i])}: {e(fmt(v))}</title></circle>"
            )
        for points in runs:
            if len(points) > 1:
                parts.append(
                    f"<polyline fill='none' stroke='{colour}' stroke-width='1.5' "
                    f"points='{' '.join(points)}'/>"
                )
        parts.extend(dots)
    legend = "".join(
        f"<span><i style='background:{colour}'></i>{e(name)}</span>" for name, colour, _ in series
    )
    axis = f"{e(labels[0])} → {e(labels[-1])}; top of the chart: {e(fmt(top))}"
    return (
        f"<svg class='spark' role='img' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' aria-label='{e(axis)}'>"
        f"<rect width='{width}' height='{height}' fill='#f8f9fc'/>{''.join(parts)}</svg>"
        f"<div class='legend muted'>{legend} <span>{axis}</span></div>"
    )
