"""Exports: Altair chart -> PNG / SVG / PDF bytes, DataFrame -> CSV bytes, safe file names.

Rendering goes through vl-convert-python (Vega-Lite compiled and drawn in-process: no
browser, no network; external data URLs are refused so a spec cannot reach out).
"""

from __future__ import annotations

import csv
import io
import re
import textwrap
import unicodedata
from typing import Any, Literal, Sequence

import pandas as pd
import vl_convert as vlc

__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "sanitize_filename",
    "chart_spec",
    "chart_to_png",
    "chart_to_svg",
    "chart_to_pdf",
    "chart_bytes",
    "dataframe_to_csv",
    "scenario_text",
    "with_title",
]

Format = Literal["png", "svg", "pdf"]
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
MIME_TYPES: dict[str, str] = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "csv": "text/csv",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def sanitize_filename(name: str, *, extension: str = "", default: str = "netdrift", max_length: int = 100) -> str:
    """A file name made only of ``[A-Za-z0-9._-]``: no path separators, no leading dot, bounded.

    Accents are stripped to ASCII, every other run of unsafe characters becomes ``_``,
    leading dots/dashes/underscores are dropped (no hidden files, no ``..``, no option-like
    names), and the stem is cut so the whole name, ``extension`` included, is at most
    ``max_length`` characters. Empty results fall back to ``default``.

    Examples
    --------
    >>> sanitize_filename("../../etc/passwd")
    'etc_passwd'
    >>> sanitize_filename("Störung Zürich→Genève #3", extension="png")
    'Storung_Zurich_Geneve_3.png'
    >>> sanitize_filename("", extension="csv")
    'netdrift.csv'
    """
    ext = _UNSAFE.sub("", extension.lstrip("."))[:10]
    ascii_name = "".join(
        c if c.isascii() else ("" if unicodedata.combining(c) else "_")
        for c in unicodedata.normalize("NFKD", str(name))
    )
    stem = _UNSAFE.sub("_", ascii_name)
    stem = re.sub(r"\.{2,}", ".", stem).strip("._- ")
    if ext and stem.lower().endswith("." + ext.lower()):
        stem = stem[: -len(ext) - 1].rstrip("._-")
    if not stem or stem.split(".")[0].upper() in _RESERVED:
        stem = (default + "_" + stem) if stem else default
        stem = _UNSAFE.sub("_", stem).strip("._-") or "netdrift"
    room = max(1, max_length - (len(ext) + 1 if ext else 0))
    stem = stem[:room].rstrip("._-") or "x"
    return f"{stem}.{ext}" if ext else stem


def chart_spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (or a spec dict, returned as is)."""
    if isinstance(chart, dict):
        return chart
    return chart.to_dict()


def _vl_version(spec: dict[str, Any]) -> str | None:
    """The vl-convert library version matching the spec's ``$schema`` (None: vl-convert's latest)."""
    m = re.search(r"/v(\d+)\.(\d+)", str(spec.get("$schema", "")))
    if not m:
        return None
    wanted = f"{m[1]}.{m[2]}"
    return wanted if wanted in vlc.get_vegalite_versions() else None


def _kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {"allowed_base_urls": []}
    version = _vl_version(spec)
    if version:
        kw["vl_version"] = version
    return kw


#: Exported PNGs are at most this many pixels wide (a slide's or a page's width at scale 2).
MAX_PNG_WIDTH = 2400
#: A title's subtitle (the scenario line) is wrapped at this many characters per line.
SUBTITLE_CHARS = 90


def _png_width(png: bytes) -> int:
    """Width in pixels from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big")


def chart_to_png(chart: Any, scale: float = 2.0, max_width: int = MAX_PNG_WIDTH) -> bytes:
    """PNG bytes of the chart at ``scale`` times its nominal size (2 = crisp on slides/print),
    drawn at a smaller scale (at least 1) when that would be wider than ``max_width`` pixels.

    >>> import altair as alt, pandas as pd
    >>> c = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    >>> chart_to_png(c)[:4]
    b'\\x89PNG'
    """
    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    spec = chart_spec(chart)
    png = vlc.vegalite_to_png(spec, scale=scale, **_kwargs(spec))
    width = _png_width(png)
    if width > max_width and scale > 1:
        png = vlc.vegalite_to_png(spec, scale=max(1.0, scale * max_width / width), **_kwargs(spec))
    return png


def chart_to_svg(chart: Any) -> bytes:
    """SVG document (UTF-8 bytes) of the chart; text stays text."""
    spec = chart_spec(chart)
    return vlc.vegalite_to_svg(spec, **_kwargs(spec)).encode("utf-8")


def chart_to_pdf(chart: Any) -> bytes:
    """PDF bytes of the chart (vector)."""
    spec = chart_spec(chart)
    return vlc.vegalite_to_pdf(spec, **_kwargs(spec))


def scenario_text(topology: str, failures: Sequence[str], models: Sequence[str], horizon_steps: int | None = None,
                  step_minutes: float | None = None) -> str:
    """One line naming the scenario an export comes from.

    >>> scenario_text("GEANT", ["fail AT – DE (4-29) at step 400"], ["liquid", "incremental"], 3, 15)
    'Topology GEANT; failures: fail AT – DE (4-29) at step 400; models: liquid, incremental; horizon 3 steps (45 min)'
    >>> scenario_text("Abilene", [], ["persistence"])
    'Topology Abilene; failures: none; models: persistence'
    """
    parts = [f"Topology {topology}", "failures: " + ("; ".join(failures) if failures else "none"),
             "models: " + (", ".join(models) if models else "none")]
    if horizon_steps is not None:
        minutes = f" ({horizon_steps * step_minutes:g} min)" if step_minutes else ""
        parts.append(f"horizon {horizon_steps} step{'s' if horizon_steps != 1 else ''}{minutes}")
    return "; ".join(parts)


def with_title(chart: Any, title: str, scenario: str | None = None) -> dict[str, Any]:
    """The chart's spec with ``title`` on top and ``scenario`` (:func:`scenario_text`) under it,
    wrapped to lines of :data:`SUBTITLE_CHARS` characters (one long line would widen the image).

    >>> with_title({"mark": "point"}, "RMSE", "a " * 60)["title"]["subtitle"][0].strip() == "a " * 44 + "a"
    True
    """
    spec = dict(chart_spec(chart))
    lines = textwrap.wrap(scenario, SUBTITLE_CHARS) if scenario else []
    spec["title"] = {"text": title, "anchor": "start", **({"subtitle": lines} if lines else {})}
    return spec


def chart_bytes(chart: Any, fmt: Format, title: str | None = None, scenario: str | None = None) -> bytes:
    """The chart rendered as ``fmt`` (``"png"`` at scale 2, ``"svg"`` or ``"pdf"``), with ``title``
    and the ``scenario`` line on top when given (see :func:`with_title`)."""
    if title:
        chart = with_title(chart, title, scenario)
    if fmt == "png":
        return chart_to_png(chart, scale=2.0)
    if fmt == "svg":
        return chart_to_svg(chart)
    if fmt == "pdf":
        return chart_to_pdf(chart)
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")


def dataframe_to_csv(df: pd.DataFrame, title: str | None = None, scenario: str | None = None) -> bytes:
    """UTF-8 CSV of the frame, without the index; NaN/None written as empty fields. With ``title``
    (and ``scenario``), they come first as ``# `` comment lines (``pandas.read_csv(comment="#")``
    and most tools skip them); their commas become semicolons, so a spreadsheet that shows them
    keeps each in one cell. A field holding ``#`` (a run "#4 ...") is quoted, so a reader that
    skips ``#`` comments does not cut the row there.

    >>> dataframe_to_csv(pd.DataFrame({"model": ["liquid", "mlp"], "rmse_mbps": [1.5, None]}))
    b'model,rmse_mbps\\nliquid,1.5\\nmlp,\\n'
    >>> dataframe_to_csv(pd.DataFrame({"a": [1]}), "RMSE", "Topology X; failures: none; models: liquid, mlp")
    b'# RMSE\\n# Topology X; failures: none; models: liquid; mlp\\na\\n1\\n'
    >>> dataframe_to_csv(pd.DataFrame({"run": ["#4 Geant2012"], "rmse_mbps": [2.0]}))
    b'run,rmse_mbps\\n"#4 Geant2012",2.0\\n'
    """
    head = "".join(f"# {line.replace(',', ';')}\n" for line in (title, scenario) if line)
    body = df.to_csv(index=False, lineterminator="\n")
    if "#" in body:  # quote the fields holding '#': pandas' comment="#" would cut a row at it
        rows = csv.reader(io.StringIO(body))
        out = io.StringIO()
        for row in rows:
            out.write(",".join(_csv_field(f) for f in row) + "\n")
        body = out.getvalue()
    return head.encode("utf-8") + body.encode("utf-8")


def _csv_field(field: str) -> str:
    """A CSV field, quoted when it holds a separator, a quote, a line break or '#'."""
    if any(c in field for c in ',"\n\r#'):
        return '"' + field.replace('"', '""') + '"'
    return field
