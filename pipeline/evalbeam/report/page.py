"""The report as one HTML file: the template, every script and style inlined, and the page
data embedded once as escaped JSON. Nothing on the page is fetched from anywhere."""
from __future__ import annotations

import html
import json
import os
import re
from importlib import resources

VENDOR = ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
SCRIPTS = ("plots.js", "quality.js", "app.js")  # ours, in load order (app.js starts the page)
_SOURCE_MAP = re.compile(r"//# sourceMappingURL=\S*\s*$")


def _asset(*parts: str) -> str:
    return resources.files("evalbeam.report").joinpath(*parts).read_text(encoding="utf-8")


def embedded_json(data) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element: no ``<``, ``>`` or ``&``
    appears raw (so no value can close the element or open a comment), nor the line
    separators JavaScript once treated as line ends."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _script(source: str) -> str:
    # a library's source-map comment would point the browser's devtools at a missing file
    source = _SOURCE_MAP.sub("", source)
    if re.search(r"</script", source, re.IGNORECASE):
        raise ValueError("a script to inline contains '</script'")
    return f"<script>{source}</script>"


def render(data: dict, title: str) -> str:
    """The whole page for ``data`` (see :mod:`evalbeam.report.data`)."""
    scripts = [_script(_asset("vendor", name)) for name in VENDOR]
    scripts += [_script(_asset("assets", name)) for name in SCRIPTS
                if resources.files("evalbeam.report").joinpath("assets", name).is_file()]
    page = _asset("assets", "template.html")
    parts = {
        "TITLE": html.escape(title),
        "STYLE": _asset("assets", "report.css"),
        "DATA": embedded_json(data),
        "SCRIPTS": "\n".join(scripts),
    }
    return re.sub(r"@@(TITLE|STYLE|DATA|SCRIPTS)@@", lambda m: parts[m.group(1)], page)


def write(text: str, path: str) -> None:
    """Write the page to ``path`` (local or any Beam filesystem) through a temporary file
    where the filesystem has renames, so a reader never sees half a page."""
    from apache_beam.io.filesystems import FileSystems

    if "://" not in path:
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
        return
    with FileSystems.create(path) as f:
        f.write(text.encode("utf-8"))
