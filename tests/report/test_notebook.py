"""A result displayed in a notebook: the report inline, in an iframe that runs its scripts.

The notebook is executed with nbclient on a kernel of this interpreter, its kernelspec and
every Jupyter / IPython directory in a temporary folder (nothing is written to the home)."""
import contextlib
import html.parser
import io
import json
import re
import sys

import pytest

import chromium
from conftest import BASE, make_table
from helpers_io import write

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

CONFIG = BASE + """metrics_specs {
  metrics { class_name: "ExampleCount" }
  metrics { class_name: "WeightedExampleCount" }
  metrics { class_name: "AUC" }
}
slicing_specs {}
slicing_specs { feature_keys: ["country"] }
"""


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    from evalbeam import cli

    folder = tmp_path_factory.mktemp("notebook")
    data = write(make_table(2000, seed=3), str(folder / "data.parquet"))
    (folder / "cfg.textproto").write_text(CONFIG)
    out = str(folder / "result")
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["evaluate", "--config", str(folder / "cfg.textproto"), "--data", data,
                         "--output", out]) == 0
    return out


@pytest.fixture(scope="module")
def notebook_html(result_dir, tmp_path_factory):
    """The text/html output of a notebook whose last expression is ``load_result(dir)``."""
    home = tmp_path_factory.mktemp("jupyter")
    prefix = home / "prefix"
    env = {"JUPYTER_PATH": str(prefix / "share/jupyter"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTER_CONFIG_DIR": str(home / "cfg"),
           "IPYTHONDIR": str(home / "ipython")}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        kernelspec.install(kernel_name="python3", prefix=str(prefix))
        spec = json.loads((prefix / "share/jupyter/kernels/python3/kernel.json").read_text())
        assert spec["argv"][0] == sys.executable
        nb = nbformat.v4.new_notebook(cells=[
            nbformat.v4.new_code_cell("import evalbeam"),
            nbformat.v4.new_code_cell(f"evalbeam.load_result({result_dir!r})")])
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    outputs = nb.cells[1].outputs
    assert [o.output_type for o in outputs] == ["execute_result"], outputs
    assert "text/html" in outputs[0].data, f"the result shows no HTML, only {list(outputs[0].data)}"
    return outputs[0].data["text/html"]


class _Iframes(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.found.append(dict(attrs))


def test_a_notebook_shows_the_report_in_a_sandboxed_iframe(notebook_html, result_dir):
    parser = _Iframes()
    parser.feed(notebook_html)
    assert len(parser.found) == 1, notebook_html[:300]
    frame = parser.found[0]
    assert "allow-scripts" in frame["sandbox"].split()
    assert "allow-same-origin" not in frame["sandbox"].split()  # it would undo the sandbox
    # the page is in the attribute, escaped: the output's only markup is the iframe
    assert "<script" not in notebook_html and notebook_html.count("<") == 2
    assert '&lt;script type=&quot;application/json&quot; id=&quot;evalbeam-data&quot;&gt;' \
        in notebook_html
    page = frame["srcdoc"]  # the attribute, unescaped: the whole report
    data = re.search(r'<script type="application/json" id="evalbeam-data">(.*?)</script>', page,
                     re.DOTALL)
    assert data is not None
    run = json.loads(data.group(1))["runs"][0]
    assert run["dir"].rstrip("/") == result_dir.rstrip("/")
    assert set(run["slices"]["name"]) == {"Overall", "country=us", "country=de", "country=fr",
                                          "country=jp"}


def test_the_notebook_iframe_renders_the_table_in_chromium(notebook_html, page, tmp_path):
    """The output as a notebook front end shows it: the page runs inside the iframe and
    answers clicks (its console and network are checked as for every page)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    host = tmp_path / "notebook.html"
    host.write_text(f"<!doctype html><html><body>{notebook_html}</body></html>", encoding="utf-8")
    page.get(chromium.url(host))
    page.switch_to.frame(page.find_element(By.TAG_NAME, "iframe"))
    chromium.wait_ready(page)
    page.find_element(By.CSS_SELECTOR, 'nav#tabs button[data-tab="table"]').click()
    Select(page.find_element(By.ID, "spec")).select_by_value("country")
    want = {"country=us", "country=de", "country=fr", "country=jp"}

    def table(d):
        rows = d.execute_script(
            "return [...document.querySelectorAll('#metric-table tbody tr')].map(tr => "
            "[tr.dataset.slice, tr.querySelector('td[data-col=\"auc\"]').textContent])")
        return rows if {name for name, _ in rows} == want else None

    rows = chromium.wait(page, table, "the country slices in the iframe's table")
    assert all(text.strip() for _, text in rows)
    page.switch_to.default_content()
