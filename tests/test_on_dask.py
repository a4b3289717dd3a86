"""on_dask.run: the DaskRunner's groupby is told the task-based shuffle up front, so a run's
driver never imports dask.dataframe to find it; a method set in Dask's config is kept."""
import os
import subprocess
import sys
import textwrap

import dask
import pytest

from evalbeam import on_dask


class _Result:
    class client:  # noqa: N801 - what DaskRunnerResult.client offers
        closed = False

        @classmethod
        def close(cls):
            cls.closed = True

    def wait_until_finish(self):
        return "DONE"


class _Pipeline:
    """Records the shuffle method Dask's config names while the pipeline is run."""

    def __init__(self):
        from apache_beam.options.pipeline_options import PipelineOptions

        self.options, self.seen = PipelineOptions([]), []

    def visit(self, visitor):
        pass

    def run(self):
        self.seen.append(dask.config.get("dataframe.shuffle.method", None))
        return _Result()


@pytest.mark.parametrize("configured, wanted", [(None, "tasks"), ("disk", "disk")])
def test_the_shuffle_method_is_named_while_the_pipeline_is_built(configured, wanted):
    pipeline = _Pipeline()
    with dask.config.set({"dataframe.shuffle.method": configured}):
        on_dask.run(pipeline)
        assert dask.config.get("dataframe.shuffle.method", None) == configured  # restored
    assert pipeline.seen == [wanted]
    assert _Result.client.closed


def test_a_dask_run_imports_no_dask_dataframe(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from evalbeam.cli import main
        from evalbeam.demo import CONFIG, generate
        if __name__ == "__main__":
            generate(4000, {str(tmp_path / "data.parquet")!r}, chunk=1000)
            code = main(["evaluate", "--config", CONFIG, "--data",
                         {str(tmp_path / "data.parquet")!r}, "--output",
                         {str(tmp_path / "out")!r}, "--runner=DaskRunner",
                         "--no_report"])
            print(code, "dask.dataframe" in sys.modules)
        """)
    (tmp_path / "run.py").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "run.py")], capture_output=True,
                          text=True, env=os.environ, timeout=300)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr[-2000:]
    assert (tmp_path / "out" / "summary.json").exists()
