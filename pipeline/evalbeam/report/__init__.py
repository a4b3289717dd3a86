"""The results explorer: one self-contained HTML page for one or several finished runs.

``build_report(results)`` gives the page as text, ``write_report(results, path)`` writes it;
``evalbeam evaluate`` writes ``report.html`` beside the artifacts and ``evalbeam report`` builds
one from finished runs. The page reads only what the artifacts hold (:mod:`.data`)."""
from __future__ import annotations

from evalbeam.io.files import REPORT_FILE
from evalbeam.report import data, page

__all__ = ["REPORT_FILE", "build_report", "write_report"]


def build_report(results, table_slices: int = data.TABLE_SLICES,
                 plot_slices: int = data.PLOT_SLICES, shown_dirs=None) -> str:
    """The page for ``results`` (an EvalResult or a list of them, one per run);
    ``shown_dirs``: the directories the page names for them, when not where they are read."""
    if not isinstance(results, (list, tuple)):
        results = [results]
    built = data.page_data(list(results), table_slices, plot_slices, shown_dirs)
    if len(results) == 1:
        title = f"evalbeam: {built['runs'][0]['name']}"
    else:
        title = f"evalbeam: {len(results)} runs"
    return page.render(built, title)


def write_report(results, path: str, **limits) -> None:
    page.write(build_report(results, **limits), path)


_MARK = b'<meta name="generator" content="evalbeam">'


def is_report(path: str) -> bool:
    """Whether the file at ``path`` is a page evalbeam wrote (its head carries our mark)."""
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(path, compression_type="uncompressed") as f:
            return _MARK in f.read(2048)
    except Exception:  # noqa: BLE001 - unreadable: not ours to replace
        return False


def check_report_path(path: str) -> None:
    """Refuse, before any work, a path the page must not be written to: a directory, a
    missing folder, or a file evalbeam did not write (a user's file is never replaced)."""
    import os

    from apache_beam.io.filesystems import FileSystems

    from evalbeam.errors import OutputError

    if "://" not in path:
        if os.path.isdir(path):
            raise OutputError(f"-o {path} is a directory; give a file name such as "
                              f"{os.path.join(path, REPORT_FILE)}")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise OutputError(f"-o {path}: no such directory {parent}")
    if FileSystems.exists(path) and not is_report(path):
        raise OutputError(f"-o {path} exists and is not an evalbeam report; it is left "
                          "untouched: give a new file name")
