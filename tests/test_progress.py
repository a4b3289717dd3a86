"""The progress line of ``evaluate``: the CLI runs with its stderr on a pseudo-terminal."""
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from conftest import BASE, make_table

from evalbeam import progress

ROWS = 60_000
BATCH = "1000"  # 60 batches: about 3 s of reading
READ_DELAY = 0.05  # seconds each batch is read late
# loaded by every Python process of the run (the worker processes too): reading slowed down
SLOW_READING = """import os
if os.environ.get("SLOW_READ_SECONDS"):
    import time
    from evalbeam.io import readers

    def slowed(read):
        def read_slowly(*args, **kwargs):
            for batch in read(*args, **kwargs):
                time.sleep(float(os.environ["SLOW_READ_SECONDS"]))
                yield batch
        return read_slowly

    readers.read_parquet_task = slowed(readers.read_parquet_task)
    readers.read_csv_file = slowed(readers.read_csv_file)
"""
CONFIG = BASE + """metrics_specs { metrics { class_name: "ExampleCount" }
                                  metrics { class_name: "AUC" } }
slicing_specs {} slicing_specs { feature_keys: ["country"] }
"""
RUNNING = re.compile(r"read ([\d,]+) of (~?)([\d,]+) rows \((\d+)%\) \| (\S+) rows/s"
                     r" \| (\d\d):(\d\d) elapsed, ETA (\S+)")
READ = re.compile(r"read all ([\d,]+) rows \| \d\d:\d\d elapsed; computing the metrics")
DONE = re.compile(r"read ([\d,]+) rows in (\d\d):(\d\d) \((\S+) rows/s\)")
SCALE = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("progress")
    table = make_table(ROWS, seed=3)
    pq.write_table(table, d / "data.parquet", row_group_size=ROWS // 4)
    pcsv.write_csv(table, d / "data.csv")
    (d / "cfg.textproto").write_text(CONFIG)
    (d / "site").mkdir()
    (d / "site" / "sitecustomize.py").write_text(SLOW_READING)
    return d


def _env(data):
    path = os.pathsep.join([str(data / "site"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "SLOW_READ_SECONDS": str(READ_DELAY)}


def _number(text: str) -> float:
    """tqdm's scaled rate: ``3.80k`` -> 3800."""
    return float(text[:-1]) * SCALE[text[-1]] if text[-1] in SCALE else float(text)


def _seconds(text: str) -> int:
    minutes, seconds = text.split(":")
    return int(minutes) * 60 + int(seconds)


def _run(args, cwd, terminal=True, columns=200):
    """Run ``evalbeam evaluate ARGS``; stderr on a pseudo-terminal ``columns`` wide (else a
    pipe). Returns (exit code, stdout, stderr, [(seconds since start, stderr chunk)])."""
    cmd = [sys.executable, "-m", "evalbeam.cli", "evaluate", *args]
    if not terminal:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=_env(cwd),
                              stdin=subprocess.DEVNULL, timeout=600)
        return done.returncode, done.stdout, done.stderr, []
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", columns and 50, columns, 0, 0))
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=slave,
                            stdin=subprocess.DEVNULL, env=_env(cwd))
    os.close(slave)
    chunks = []

    def drain():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            chunks.append((time.monotonic() - start, chunk.decode()))

    reader = threading.Thread(target=drain)
    reader.start()
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=600)
    reader.join(timeout=60)
    os.close(master)
    return code, out, "".join(c for _, c in chunks), chunks


def _frames(chunks):
    """(arrival time, text) of every redraw of the line."""
    found = []
    for at, chunk in chunks:
        for part in re.split(r"[\r\n]", chunk):
            if part.strip():
                found.append((at, part.rstrip()))
    return found


def _screen(text: str) -> list:
    """The lines a terminal shows after ``text`` (carriage returns overwrite)."""
    assert "\x1b" not in text  # a single line needs no escape sequences
    lines, line, col = [], [], 0
    for ch in text:
        if ch == "\n":
            lines.append("".join(line).rstrip())
            line, col = [], 0
        elif ch == "\r":
            col = 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    if "".join(line).strip():
        lines.append("".join(line).rstrip())
    return lines


def _running(frames):
    return [(at, RUNNING.fullmatch(text)) for at, text in frames if RUNNING.fullmatch(text)]


def _args(data, source, out, *more):
    return ["--config", str(data / "cfg.textproto"), "--data", str(data / source),
            "--output", str(data / out), "--batch_size", BATCH, *more]


def _check_updates(running):
    """The count rises through values between 0 and the total, redrawn at least once a
    second."""
    counts = [int(m.group(1).replace(",", "")) for _, m in running]
    assert counts == sorted(counts)
    total = int(running[-1][1].group(3).replace(",", ""))
    assert len({c for c in counts if 0 < c < total}) >= 3, counts
    times = [at for at, _ in running]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert max(gaps) < 2.0  # polled every 0.25 s; the margin is for a loaded machine
    assert sorted(gaps)[len(gaps) // 2] <= 1.0


def test_parquet_line_counts_to_the_total_from_the_metadata(data):
    code, out, err, chunks = _run(_args(data, "data.parquet", "out_pq"), data)
    assert code == 0, err
    assert out.startswith(f"evaluated {ROWS} of {ROWS} rows")
    assert "rows/s" not in out and "\r" not in out  # stdout stays clean for scripts
    frames = _frames(chunks)
    running = _running(frames)
    assert running, frames[:5]
    total = pq.ParquetFile(data / "data.parquet").metadata.num_rows
    assert total == ROWS
    for _, m in running:
        assert m.group(2) == "" and int(m.group(3).replace(",", "")) == ROWS  # exact: no "~"
        n = int(m.group(1).replace(",", ""))
        assert abs(int(m.group(4)) - 100 * n / ROWS) <= 0.5
    _check_updates(running)
    # rows per second and the ETA they give: (total - read) / rate, in whole seconds
    timed = [m for _, m in running if m.group(5) != "?" and m.group(8) != "?"]
    assert timed
    for m in timed:
        n, rate = int(m.group(1).replace(",", "")), _number(m.group(5))
        assert rate > 0
        assert abs(_seconds(m.group(8)) - (ROWS - n) / rate) <= 1 + 0.01 * (ROWS - n) / rate
    # once every row is read, the rest is computing; the last line says the count and rate
    # (drawn only if a redraw falls between the last batch and the end of the run)
    read = [READ.fullmatch(text) for _, text in frames if READ.fullmatch(text)]
    assert all(int(m.group(1).replace(",", "")) == ROWS for m in read)
    screen = _screen(err)
    last = DONE.fullmatch(screen[-1])
    assert last and int(last.group(1).replace(",", "")) == ROWS, screen[-3:]
    elapsed, rate = _seconds(last.group(2) + ":" + last.group(3)), _number(last.group(4))
    assert ROWS / (elapsed + 1) * 0.99 <= rate <= ROWS / max(elapsed, 0.5) * 1.01
    assert not any(" rows" in line for line in screen[:-1])  # one line, redrawn


def test_csv_total_is_an_estimate_from_the_file_size(data):
    # a terminal that tells no size (some pseudo-terminals say 0 x 0): nothing is cut
    code, out, err, chunks = _run(_args(data, "data.csv", "out_csv"), data, columns=0)
    assert code == 0, err
    running = _running(_frames(chunks))
    assert running
    assert {m.group(2) for _, m in running} == {"~"}
    estimate = int(running[0][1].group(3).replace(",", ""))
    assert abs(estimate - ROWS) / ROWS < 0.05, estimate
    _check_updates(running)
    last = DONE.fullmatch(_screen(err)[-1])
    assert last and int(last.group(1).replace(",", "")) == ROWS


def test_several_worker_processes_report_their_rows(data):
    code, out, err, chunks = _run(_args(data, "data.parquet", "out_mp",
                                        "--direct_num_workers=2",
                                        "--direct_running_mode=multi_processing"), data)
    assert code == 0, err
    running = _running(_frames(chunks))
    assert running
    _check_updates(running)
    done = [DONE.fullmatch(text) for _, text in _frames(chunks) if DONE.fullmatch(text)]
    assert done and int(done[-1].group(1).replace(",", "")) == ROWS


def test_nothing_when_stderr_is_not_a_terminal(data):
    code, out, err, _ = _run(_args(data, "data.parquet", "out_pipe"), data, terminal=False)
    assert code == 0, err
    assert not RUNNING.search(err) and not DONE.search(err) and "rows/s" not in err
    assert "\r" not in err and "rows/s" not in out


def test_nothing_with_quiet(data):
    code, out, err, _ = _run(_args(data, "data.parquet", "out_quiet", "--quiet"), data)
    assert code == 0, err
    assert not RUNNING.search(err) and not DONE.search(err) and "rows/s" not in err
    assert out.startswith(f"evaluated {ROWS} of {ROWS} rows")


def test_a_failed_run_clears_the_line_and_says_its_error(data):
    # a negative weight in the last row: found in the last batch, long after the line shows
    table = make_table(ROWS, seed=4)
    weight = table.column("weight").to_numpy().copy()
    weight[-1] = -1.0
    pcsv.write_csv(table.set_column(2, "weight", pa.array(weight)), data / "bad.csv")
    code, out, err, chunks = _run(_args(data, "bad.csv", "out_bad"), data)
    assert code == 2, err
    assert _running(_frames(chunks))  # it was drawn
    screen = [line for line in _screen(err) if line.strip()]
    assert screen[-1].startswith("evalbeam: error: bad.csv") or \
        screen[-1].startswith(f"evalbeam: error: {data / 'bad.csv'}"), screen[-3:]
    assert "negative weight" in screen[-1]
    assert not any("rows/s" in line for line in screen)  # cleared
    assert not (data / "out_bad").exists()


def test_counts_go_nowhere_without_the_file(tmp_path, monkeypatch):
    batch = pa.record_batch({"x": [1, 2, 3]})
    monkeypatch.setenv(progress.ENV, str(tmp_path / "missing"))
    assert list(progress.counted([batch, batch])) == [batch, batch]
    assert not (tmp_path / "missing").exists()  # a remote worker leaves nothing behind
    path = tmp_path / "counts"
    path.write_bytes(b"")
    monkeypatch.setenv(progress.ENV, str(path))
    list(progress.counted([batch, batch]))
    assert path.read_bytes() == b"3\n3\n"


def test_nothing_for_a_remote_runner(data):
    # its workers could not report: no line, not even while waiting for its job service
    code, out, err, chunks = _run(_args(data, "data.parquet", "out_remote",
                                        "--runner=PortableRunner", "--job_endpoint=localhost:9",
                                        "--job_server_timeout=2"), data)
    assert code == 2, err
    assert "rows" not in err, err
    assert _screen(err)[-1].startswith("evalbeam: error: no job service answers at localhost:9")
