"""Rows the data holds, told before reading: exact for Parquet, estimated for CSV and TFRecord
(checked against the rows written)."""
import bz2
import gzip

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from conftest import make_table
from helpers_io import write_tfrecord

from evalbeam.io.row_counts import total_rows


def test_parquet_rows_come_from_the_footers(tmp_path):
    pq.write_table(make_table(7000, seed=1), tmp_path / "a.parquet", row_group_size=1000)
    pq.write_table(make_table(3, seed=2), tmp_path / "b.parquet")
    assert total_rows([str(tmp_path)], None) == (7003, True)


def test_estimate_for_tfrecord_and_compressed_csv(tmp_path):
    table = make_table(20_000, seed=5)
    write_tfrecord(table, str(tmp_path / "a.tfrecord"))
    write_tfrecord(table.slice(0, 5000), str(tmp_path / "b.tfrecord"))
    rows, exact = total_rows([str(tmp_path / "*.tfrecord")], None)
    assert not exact and abs(rows - 25_000) / 25_000 < 0.05
    big = pa.concat_tables([table] * 10)  # 200,000 rows: more than the sample holds
    pcsv.write_csv(big, tmp_path / "c.csv")
    text = (tmp_path / "c.csv").read_bytes()
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress(text))
    (tmp_path / "c.csv.bz2").write_bytes(bz2.compress(text))
    for name in ("c.csv", "c.csv.gz", "c.csv.bz2"):
        rows, exact = total_rows([str(tmp_path / name)], None)
        assert not exact and abs(rows - 200_000) / 200_000 < 0.05, (name, rows)


def test_a_file_smaller_than_the_sample_is_counted(tmp_path):
    pcsv.write_csv(make_table(100, seed=6), tmp_path / "small.csv")
    assert total_rows([str(tmp_path / "small.csv")], "csv") == (100, False)
