"""A bad input given to `evalbeam evaluate`: the one line it must print, and tables with one
column's values replaced."""
import pyarrow as pa

from conftest import BASE, make_table
from evalbeam.cli import main
from helpers_io import write

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "AUC" }
                metrics { class_name: "BinaryAccuracy" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] } slicing_specs { feature_keys: ["age"] }
"""


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(capsys, tmp_path, table=None, config=CONFIG, data=None, fmt=None):
    cfg = tmp_path / "c.textproto"
    cfg.write_text(config)
    if data is None:
        data = write(table if table is not None else make_table(100), str(tmp_path / "d.parquet"))
    argv = ["evaluate", "--config", str(cfg), "--data", data, "--output", str(tmp_path / "o")]
    code, _, err = run(capsys, *argv + (["--format", fmt] if fmt else []))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalbeam: error: "), err
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.glob(".o.tmp-*"))  # a failed run leaves no staging directory
    return lines[0]


def with_column(column, values, n=4):
    t = make_table(n, seed=1)
    return t.set_column(t.schema.get_field_index(column), column, pa.array(values))
