"""Checking Beam flags: the Dask runner's module (most of a second to load) is loaded only for
a flag the other options classes do not define."""
import os
import subprocess
import sys

import pytest

from evalbeam import pipeline_flags
from evalbeam.errors import EvalbeamError


def test_common_flags_are_checked_without_loading_the_dask_runner():
    code = ("import sys; from evalbeam import pipeline_flags; pipeline_flags.check(["
            "'--no_pipeline_type_check', '--direct_num_workers=2', '--runner', 'DirectRunner']);"
            " print('apache_beam.runners.dask.dask_runner' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ), check=True,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "False"


def test_dask_runner_flags_are_known_and_suggested():
    pytest.importorskip("dask.distributed")
    pipeline_flags.check(["--dask_npartitions=2"])
    with pytest.raises(EvalbeamError, match="did you mean --dask_npartitions"):
        pipeline_flags.check(["--dask_npartition=2"])
