"""What a page shows a person, read from an AppTest run, and the raw identifiers that must not be in it.

:func:`visible_texts` collects, as ``(where, text)``, every title, heading, markdown, caption,
alert, metric label and value, widget label and option, chart title, axis title, legend entry
and category, and table header and text cell of a page. :func:`raw_identifiers` finds in those
texts the machine names of the vocabulary (``organic_search``, ``first_touch``, ``as_booked``,
``touches_on_value``...) and the warehouse's ids (``CMP006``, ``ACC0000042``...), and "None",
"True" or "False" as a value. Ids are allowed where a page puts them on purpose: a column whose
header says ID, and tooltips (help texts are not read).
"""

from __future__ import annotations

import json
import re

from analytics.core.labels import VOCABULARY

ID_PATTERN = re.compile(r"\b(CMP\d{3,}|ACC\d{5,}|CON\d{5,}|REP\d{5,}|OPP\d{5,})\b")
BARE = {"None", "True", "False", "nan", "NaN", "null"}


def vocabulary_identifiers() -> tuple[set[str], set[str]]:
    """``(names, compound)``: every machine name whose label differs from it, and those of them that
    cannot be an English word (with ``_`` or a parenthesis), which must not appear even inside prose."""
    names = {
        name
        for mapping in VOCABULARY.values()
        for name, text in mapping.items()
        if name and name != text and not name[:1].isupper()
    }
    compound = {name for name in names if "_" in name or name.startswith("(")}
    return names, compound


def _chart_texts(spec: dict) -> list[tuple[str, str]]:
    out = []
    layout = spec.get("layout", {})

    def title(value):
        return value.get("text") if isinstance(value, dict) else value

    for axis_name, axis in layout.items():
        if isinstance(axis, dict) and axis_name.startswith(("xaxis", "yaxis")) and title(axis.get("title")):
            out.append(("chart axis", str(title(axis.get("title")))))
    if title(layout.get("title")):
        out.append(("chart title", str(title(layout["title"]))))
    legend = layout.get("legend") or {}
    if title(legend.get("title")):
        out.append(("chart legend title", str(title(legend["title"]))))
    for trace in spec.get("data", []):
        if trace.get("name") is not None and trace.get("showlegend", True) is not False:
            out.append(("chart legend", str(trace["name"])))
        for axis in ("x", "y", "labels"):
            values = trace.get(axis)
            if isinstance(values, list):
                out += [("chart category", v) for v in values if isinstance(v, str)]
    return out


def _table_texts(element) -> list[tuple[str, str]]:
    out = []
    config = json.loads(element.proto.columns or "{}")
    frame = element.value
    order = list(element.proto.column_order)
    for column in frame.columns:
        settings = config.get(str(column))
        if (settings is None and str(column) in config) or (order and str(column) not in order):  # hidden
            continue
        header = (settings or {}).get("label") or str(column)
        out.append(("table header", header))
        if "ID" in header or frame[column].dtype != object:
            continue
        out += [(f"table cell ({header})", v) for v in frame[column].dropna().astype(str).unique().tolist()]
    if element.proto.placeholder != "—":
        out.append(("table placeholder", element.proto.placeholder or "None"))
    return out


def visible_texts(at) -> list[tuple[str, str]]:
    """Every text of the page a person reads (see the module docstring)."""
    out: list[tuple[str, str]] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"):
        out += [(kind, str(e.value)) for e in getattr(at, kind)]
    for metric in at.metric:
        out += [("metric label", metric.label), ("metric value", str(metric.value))]
    for kind in ("selectbox", "multiselect", "radio"):
        for widget in getattr(at, kind):
            out.append((f"{kind} label", widget.label))
            out += [(f"{kind} option", str(o)) for o in widget.options]
    for widget in [*at.get("button_group")]:
        proto = widget.proto
        out.append(("control label", proto.label))
        out += [("control option", o.content) for o in proto.options]
    for kind in ("number_input", "text_input", "toggle", "checkbox", "date_input", "button"):
        out += [(f"{kind} label", w.label) for w in getattr(at, kind)]
    for chart in at.get("plotly_chart"):
        out += _chart_texts(json.loads(chart.proto.spec))
    for table in at.dataframe:
        out += _table_texts(table)
    return out


def raw_identifiers(
    texts: list[tuple[str, str]], extra_ids: set[str] = frozenset(), known_ids: set[str] | None = None
) -> list[tuple[str, str]]:
    """The ``(where, text)`` pairs that show a machine name, an id, or "None"/"True"/"False".

    With ``known_ids`` (the warehouse's ids), an id counts only when it is one of them: an id the
    warehouse does not have has no name to show instead (a data-quality warning quotes it).
    """
    names, compound = vocabulary_identifiers()
    compound_pattern = re.compile(
        r"(?<![\w`])(" + "|".join(re.escape(n) for n in sorted(compound, key=len, reverse=True)) + r")(?![\w`])"
    )
    found = []
    prose = {"title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success"}
    for where, text in texts:
        stripped = text.strip()
        if where not in prose and (stripped in names or stripped in BARE):  # a value that is exactly a machine name
            found.append((where, text))
            continue
        # prose may quote a machine name in code (`python -m analytics ...`); elsewhere none may appear
        plain = re.sub(r"`[^`]*`", "", text)
        ids = [i for i in ID_PATTERN.findall(plain) if known_ids is None or i in known_ids]
        if compound_pattern.search(plain) or ids or any(i in plain for i in extra_ids):
            found.append((where, text))
    return found
