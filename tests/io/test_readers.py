"""Which files `--data` reads (folders, relative globs, compressed files), what a listing error
says, and how CSV fields become values: driven through the command line."""
import bz2
import gzip
import os
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from conftest import BASE, make_table
from evalbeam import load_result
from evalbeam.cli import main
from helpers_io import write

CONFIG = BASE + """
metrics_specs { metrics { class_name: "ExampleCount" } metrics { class_name: "MeanLabel" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.textproto"
    path.write_text(CONFIG)
    return str(path)


def evaluate(*argv):
    """The CLI in a subprocess: (exit code, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "evalbeam.cli", "evaluate", *argv],
                          capture_output=True, text=True, env=os.environ.copy())
    return done.returncode, done.stdout, done.stderr


def evaluate_here(capsys, *argv):
    code = main(["evaluate", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def counts(out):
    """{slice key: weighted example count} of a result."""
    result = load_result(out)
    return {k: result.value("example_count", k) for k in result.metrics}


def expected_counts(table):
    w = table.column("weight").to_numpy().astype(float)
    country = np.array(table.column("country").to_pylist(), dtype=object)
    out = {(): w.sum()}
    for c in set(country) - {None}:
        out[(("country", c),)] = w[country == c].sum()
    return out


def test_a_folder_reads_its_data_files_and_says_what_it_skipped(tmp_path, config):
    folder = tmp_path / "preds"
    folder.mkdir()
    parts = [make_table(300, seed=1), make_table(200, seed=2)]
    for i, part in enumerate(parts):
        write(part, str(folder / f"part-{i:05d}-abc.snappy.parquet"))
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"\0\1")
    (folder / "README").write_text("predictions of model 42\n")
    out = str(tmp_path / "out")
    code, stdout, stderr = evaluate("--config", config, "--data", str(folder), "--output", out)
    assert code == 0, stderr
    assert "evaluated 500 of 500 rows" in stdout
    said = (f"data folder {folder}: read 2 parquet file(s), skipped 1 other file(s): README")
    assert [line for line in stderr.splitlines() if "warning" in line] == [
        f"evalbeam: warning: {said}"]
    assert load_result(out).summary["warnings"] == [said]  # kept with the result
    want = expected_counts(pa.concat_tables(parts))
    assert counts(out) == pytest.approx(want)


def test_a_folder_of_several_formats_needs_format(tmp_path, config, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write(make_table(100, seed=1), str(folder / "a.parquet"))
    write(make_table(60, seed=2), str(folder / "b.csv"))
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(folder),
                                 "--output", str(tmp_path / "o1"))
    assert code == 2
    assert err.strip() == (f"evalbeam: error: data folder {folder} holds files of several formats "
                           "(csv: b.csv; parquet: a.parquet); pass --format or a glob naming "
                           "the files")
    code, stdout, _ = evaluate_here(capsys, "--config", config, "--data", str(folder),
                                    "--output", str(tmp_path / "o2"), "--format", "csv")
    assert code == 0 and "evaluated 60 of 60 rows" in stdout


def test_a_folder_without_data_files(tmp_path, config, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "README").write_text("x")
    (folder / "_SUCCESS").write_text("")
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(folder),
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.strip() == (f"evalbeam: error: data folder {folder}: no file of a known format "
                           "(parquet, csv, tfrecord) in it (found: README)")
    assert "config" not in err


def test_a_glob_without_a_folder_matches_in_the_current_folder(tmp_path, config, capsys,
                                                                monkeypatch):
    parts = [make_table(120, seed=3), make_table(80, seed=4)]
    for i, part in enumerate(parts):
        write(part, str(tmp_path / f"data-{i}.tfrecord"))
    monkeypatch.chdir(tmp_path)
    code, stdout, err = evaluate_here(capsys, "--config", config, "--data", "data-*.tfrecord",
                                      "--output", "out")
    assert code == 0, err
    assert "evaluated 200 of 200 rows" in stdout
    assert counts(str(tmp_path / "out")) == pytest.approx(expected_counts(pa.concat_tables(parts)))


def test_a_path_that_cannot_be_listed_says_why(tmp_path, config, capsys):
    code, _, err = evaluate_here(capsys, "--config", config, "--data", "nosuchfs://bucket/*.parquet",
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.startswith("evalbeam: error: data path 'nosuchfs://bucket/*.parquet' cannot be "
                          "listed: Unable to get filesystem")
    assert "matches no file" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["data.csv.gz", "data.tfrecord.gz", "data.csv.bz2",
                                  "data.tfrecord.bz2", "DATA.CSV.GZ", "Data.TFRecord.BZ2"])
def test_compressed_files_are_read_by_their_inner_extension(tmp_path, config, name):
    table = make_table(400, seed=5)
    inner, packed = os.path.splitext(name)
    plain = write(table, str(tmp_path / inner.lower()))
    opener = gzip.open if packed.lower() == ".gz" else bz2.open
    with open(plain, "rb") as f, opener(tmp_path / name, "wb") as g:
        shutil.copyfileobj(f, g)
    os.remove(plain)
    out = str(tmp_path / "out")
    code, stdout, stderr = evaluate("--config", config, "--data", str(tmp_path / name),
                                    "--output", out)
    assert code == 0, stderr
    assert "evaluated 400 of 400 rows" in stdout
    assert counts(out) == pytest.approx(expected_counts(table))


def test_gz_alone_does_not_say_the_format(tmp_path, config, capsys):
    # as TFX names its shards: gzip'd TFRecord without the inner extension
    table = make_table(50, seed=6)
    plain = write(table, str(tmp_path / "data.tfrecord"))
    with open(plain, "rb") as f, gzip.open(tmp_path / "data_tfrecord-00000-of-00001.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    data = str(tmp_path / "data_tfrecord-00000-of-00001.gz")
    code, _, err = evaluate_here(capsys, "--config", config, "--data", data,
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.strip() == (f"evalbeam: error: {data}: cannot tell the format from the extension "
                           "'.gz'; pass --format with one of parquet, csv, tfrecord")
    code, stdout, _ = evaluate_here(capsys, "--config", config, "--data", data, "--format",
                                    "tfrecord", "--output", str(tmp_path / "o"))
    assert code == 0 and "evaluated 50 of 50 rows" in stdout
    assert counts(str(tmp_path / "o")) == pytest.approx(expected_counts(table))


def test_gz_alone_with_format_csv_is_decompressed(tmp_path, config, capsys):
    table = make_table(70, seed=7)
    plain = write(table, str(tmp_path / "export.csv"))
    with open(plain, "rb") as f, gzip.open(tmp_path / "export-00000.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    code, stdout, err = evaluate_here(capsys, "--config", config, "--data",
                                      str(tmp_path / "export-00000.gz"), "--format", "csv",
                                      "--output", str(tmp_path / "o"))
    assert code == 0, err
    assert counts(str(tmp_path / "o")) == pytest.approx(expected_counts(table))


def test_a_compressed_parquet_file_is_refused(tmp_path, config, capsys):
    plain = write(make_table(20), str(tmp_path / "d.parquet"))
    with open(plain, "rb") as f, gzip.open(tmp_path / "d.parquet.gz", "wb") as g:
        shutil.copyfileobj(f, g)
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(tmp_path / "d.parquet.gz"),
                                 "--output", str(tmp_path / "o"))
    assert code == 2 and "a compressed Parquet file cannot be read" in err


CSV = ("label,prediction,weight,country\n"
       "1,0.9,1.0,us\n"
       ",0.2,1.0,us\n"        # no label: dropped and counted
       "0,0.4,2.0,\n"         # no country: in no country slice
       "1,0.7,0.5,NA\n"       # Namibia: text, not a null
       "0,0.1,1.0,\"\"\n")    # an empty quoted field is null too


@pytest.mark.parametrize("with_schema", [False, True])
def test_csv_empty_fields_are_nulls_as_in_parquet(tmp_path, config, capsys, with_schema):
    csv = tmp_path / "d.csv"
    csv.write_text(CSV)
    argv = ["--config", config, "--data", str(csv), "--output", str(tmp_path / "csv")]
    if with_schema:
        schema = tmp_path / "schema.pbtxt"
        # (every column: --schema also validates the data, and a column the schema does not
        # know is an anomaly)
        schema.write_text('feature { name: "label" type: INT }\n'
                          'feature { name: "prediction" type: FLOAT }\n'
                          'feature { name: "weight" type: FLOAT }\n'
                          'feature { name: "country" type: BYTES }\n')
        argv += ["--schema", str(schema)]
    code, stdout, err = evaluate_here(capsys, *argv)
    assert code == 0, err
    parquet = write(pa.table({"label": [1, None, 0, 1, 0], "prediction": [0.9, 0.2, 0.4, 0.7, 0.1],
                              "weight": [1.0, 1.0, 2.0, 0.5, 1.0],
                              "country": ["us", "us", None, "NA", None]}),
                    str(tmp_path / "d.parquet"))
    assert evaluate_here(capsys, "--config", config, "--data", parquet,
                         "--output", str(tmp_path / "pq"))[0] == 0
    from_csv, from_parquet = load_result(str(tmp_path / "csv")), load_result(str(tmp_path / "pq"))
    assert from_csv.summary["rows_dropped"] == {"null label ('label')": 1}
    assert from_csv.summary["rows_dropped"] == from_parquet.summary["rows_dropped"]
    assert counts(str(tmp_path / "csv")) == counts(str(tmp_path / "pq")) == {
        (): 4.5, (("country", "us"),): 1.0, (("country", "NA"),): 0.5}


def test_csv_nan_is_a_number_not_a_null(tmp_path, config, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("label,prediction,weight,country\n1,NaN,1.0,us\n0,0.2,1.0,us\n")
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(csv),
                                 "--output", str(tmp_path / "o"))
    assert code == 2 and "column 'prediction' (prediction_key) has 1 NaN or infinite" in err


def test_csv_schema_type_error_names_the_column_and_the_schema(tmp_path, config, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("label,prediction,weight,country\n1,0.9,1.0,us\n0,0.2,1.0,de\n")
    schema = tmp_path / "schema.pbtxt"
    schema.write_text('feature { name: "country" type: INT }\n')
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(csv), "--schema",
                                 str(schema), "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.strip() == (f"evalbeam: error: {csv}: column 'country' (typed int64 by schema "
                           f"{schema}): CSV conversion error to int64: invalid value 'us'")


def test_csv_column_without_any_value_is_all_nulls(tmp_path, config, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text("label,prediction,weight,country\n,0.9,1.0,us\n,0.2,2.0,\n")
    code, stdout, err = evaluate_here(capsys, "--config", config, "--data", str(csv),
                                      "--output", str(tmp_path / "o"))
    assert code == 0, err
    assert "evaluated 0 of 2 rows (2 dropped)" in stdout
    assert load_result(str(tmp_path / "o")).summary["rows_dropped"] == {"null label ('label')": 2}


def test_a_glob_leaves_out_hidden_and_underscore_files(tmp_path, config, capsys):
    folder = tmp_path / "spark"
    folder.mkdir()
    write(make_table(70, seed=7), str(folder / "part-0.parquet"))
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.parquet.crc").write_bytes(b"\0")
    code, stdout, err = evaluate_here(capsys, "--config", config, "--data", str(folder / "*"),
                                      "--output", str(tmp_path / "out"))
    assert code == 0, err
    assert "evaluated 70 of 70 rows" in stdout


def test_empty_in_memory_inputs(tmp_path):
    import pandas as pd
    from evalbeam import run_evaluation

    empty = make_table(10).slice(0, 0)
    for i, data in enumerate([empty, empty.to_pandas()]):
        with pytest.warns(UserWarning, match="the input has no rows"):
            result = run_evaluation(CONFIG, data, str(tmp_path / f"out{i}"))
        assert result.summary["rows_read"] == 0 and list(result.metrics) == [()]
        assert result.value("example_count") == 0
    assert isinstance(empty.to_pandas(), pd.DataFrame)


def test_a_folder_of_partitions_says_its_subfolders_are_not_read(tmp_path, config, capsys):
    folder = tmp_path / "partitioned"
    for country in ("de", "us"):
        (folder / f"country={country}").mkdir(parents=True)
        write(make_table(30, seed=1), str(folder / f"country={country}" / "part-0.parquet"))
    code, _, err = evaluate_here(capsys, "--config", config, "--data", str(folder),
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.strip() == (f"evalbeam: error: data folder {folder}: no file of a known format "
                           "(parquet, csv, tfrecord) in it (it is empty); its subfolders are not "
                           "read (country=de, country=us): name their files with a glob such as "
                           f"{folder}/*/*")
    code, stdout, err = evaluate_here(capsys, "--config", config, "--data",
                                      f"{folder}/*/*.parquet", "--output", str(tmp_path / "o"))
    assert code == 0 and "evaluated 60 of 60 rows" in stdout


# -- Errors say what they are -----------------------------------------------------------------
def _tfrecord(path, records):
    from evalbeam.io.tfrecord import write_records

    with open(path, "wb") as f:
        write_records(f, records)
    return str(path)


def _example(**features):
    from evalbeam.proto.example_pb2 import Example

    ex = Example()
    for name, value in features.items():
        feature = ex.features.feature[name]
        (feature.int64_list if isinstance(value, int) else feature.float_list).value.append(value)
    return ex.SerializeToString()


def test_a_record_that_is_not_an_example_is_named(tmp_path, config, capsys):
    good = _example(label=1, prediction=0.5, weight=1.0)
    path = _tfrecord(tmp_path / "d.tfrecord", [good, good, b"\xff\xff\xff\xff"])
    code, _, err = evaluate_here(capsys, "--config", config, "--data", path,
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err.startswith(f"evalbeam: error: {path}: record 2 is not a tf.train.Example (")
    assert len(err.strip().splitlines()) == 1


def test_a_feature_of_two_kinds_is_not_called_a_bad_example(tmp_path, config, capsys):
    path = _tfrecord(tmp_path / "d.tfrecord", [_example(label=1, prediction=0.5, weight=1.0),
                                               _example(label=0.0, prediction=0.2, weight=1.0)])
    code, _, err = evaluate_here(capsys, "--config", config, "--data", path,
                                 "--output", str(tmp_path / "o"))
    assert code == 2
    assert err == (f"evalbeam: error: {path}: feature 'label' is int64_list in record 0 but "
                   "float_list in record 1\n")


def _as_nobody(*argv):
    """The CLI in a subprocess as the unprivileged user ``nobody`` (root reads any file)."""
    done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           sys.executable, "-m", "evalbeam.cli", "evaluate", *argv],
                          capture_output=True, text=True, env={**os.environ, "HOME": "/tmp"})
    return done.returncode, done.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run as another user")
def test_a_file_or_folder_that_may_not_be_read_says_permission_denied():
    import tempfile

    root = tempfile.mkdtemp(prefix="evalbeam-perm-")  # not under pytest's private tmp
    try:
        os.chmod(root, 0o777)
        config = os.path.join(root, "config.textproto")
        with open(config, "w") as f:
            f.write(CONFIG)
        secret = write(make_table(30), os.path.join(root, "secret.parquet"))
        os.chmod(secret, 0o600)
        locked = os.path.join(root, "locked")
        os.mkdir(locked)
        write(make_table(30), os.path.join(locked, "a.parquet"))
        os.chmod(locked, 0o700)
        out = os.path.join(root, "out")
        code, err = _as_nobody("--config", config, "--data", secret, "--output", out)
        assert (code, err) == (2, f"evalbeam: error: {secret}: permission denied\n")
        pattern = os.path.join(locked, "*.parquet")
        code, err = _as_nobody("--config", config, "--data", pattern, "--output", out)
        assert (code, err) == (2, f"evalbeam: error: data path {pattern!r} cannot be listed: "
                                  f"folder {locked}: permission denied\n")
        code, err = _as_nobody("--config", config, "--data", locked, "--output", out)
        assert (code, err) == (2, f"evalbeam: error: data folder {locked}: permission denied\n")
        os.chmod(config, 0o600)
        code, err = _as_nobody("--config", config, "--data", secret, "--output", out)
        assert (code, err) == (2, f"evalbeam: error: config file {config}: permission denied\n")
    finally:
        shutil.rmtree(root)
