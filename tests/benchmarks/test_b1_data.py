"""benchmarks/b1_data.py: B1 at any size, in seeded part files above PART_ROWS rows, cached."""
import hashlib
import os
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import b1_data  # noqa: E402

from evalbeam.demo import COUNTRIES, generate  # noqa: E402


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(b1_data, "PART_ROWS", 10_000)


def test_up_to_a_part_the_data_is_the_one_shot_generators(tmp_path, small_parts):
    path = b1_data.b1_data(7_000, str(tmp_path / "cache"))
    generate(7_000, str(tmp_path / "one_shot.parquet"))
    assert _digest(path) == _digest(tmp_path / "one_shot.parquet")
    grouped = b1_data.b1_data(7_000, str(tmp_path / "cache"), row_groups=3)
    assert pq.ParquetFile(grouped).num_row_groups == 3
    assert pq.ParquetFile(grouped).metadata.num_rows == 7_000


def test_above_a_part_the_data_is_seeded_parts(tmp_path, small_parts):
    folder = b1_data.b1_data(25_000, str(tmp_path / "a"))
    files = b1_data.parquet_files(folder)
    assert [os.path.basename(f) for f in files] == [
        "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [10_000, 10_000, 5_000]
    # part 0 is the one-file data of a part's rows; the others are new draws
    generate(10_000, str(tmp_path / "one_shot.parquet"))
    assert _digest(files[0]) == _digest(tmp_path / "one_shot.parquet")
    labels = [pq.read_table(f, columns=["prediction"]).column(0).to_numpy()[:5_000]
              for f in files]
    assert not np.array_equal(labels[0], labels[1]) and not np.array_equal(labels[1], labels[2])
    # deterministic: another cache holds the same bytes
    again = b1_data.parquet_files(b1_data.b1_data(25_000, str(tmp_path / "b")))
    assert list(map(_digest, again)) == list(map(_digest, files))


def test_every_part_draws_b1s_distributions(tmp_path, monkeypatch):
    monkeypatch.setattr(b1_data, "PART_ROWS", 100_000)
    folder = b1_data.b1_data(300_000, str(tmp_path))
    want = np.linspace(3, 1, 20) / np.linspace(3, 1, 20).sum()
    for path in b1_data.parquet_files(folder):
        t = pq.read_table(path)
        country = t.column("country").to_numpy(zero_copy_only=False)
        shares = np.array([np.mean(country == c) for c in COUNTRIES])
        assert np.abs(shares - want).max() < 0.005  # 100,000 draws: sd < 0.001
        device = t.column("device").to_numpy(zero_copy_only=False)
        assert abs(np.mean(device == "tablet") - 0.1) < 0.005
        weight = t.column("weight").to_numpy()
        assert abs(weight.mean() - (0.2 * 0.5 + 0.6 + 0.2 * 2)) < 0.01
        age = t.column("age").to_numpy()
        assert age.min() == 18 and age.max() == 80


def test_a_cached_part_is_reused_and_an_interrupted_one_written_again(tmp_path, small_parts,
                                                                      monkeypatch):
    folder = b1_data.b1_data(25_000, str(tmp_path))
    files = b1_data.parquet_files(folder)
    digests = list(map(_digest, files))
    os.remove(files[1])
    with open(os.path.join(folder, ".part-00001.parquet.tmp"), "wb") as f:
        f.write(b"half a file")  # what an interrupted generation leaves
    written = []
    real = b1_data.generate
    monkeypatch.setattr(b1_data, "generate", lambda n, path, **kw: (written.append(n),
                                                                     real(n, path, **kw)))
    assert b1_data.b1_data(25_000, str(tmp_path)) == folder
    assert written == [10_000]  # only the missing part
    assert list(map(_digest, b1_data.parquet_files(folder))) == digests
    assert sorted(os.listdir(folder)) == [os.path.basename(f) for f in files]


def test_no_room_for_the_parts_is_said_before_writing(tmp_path, small_parts, monkeypatch):
    monkeypatch.setattr(b1_data.shutil, "disk_usage", lambda path: type("U", (), {"free": 1})())
    with pytest.raises(SystemExit, match="needs about .* GiB more"):
        b1_data.b1_data(25_000, str(tmp_path))
    assert os.listdir(tmp_path / "b1_25000") == []
