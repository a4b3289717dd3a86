"""The command line starts without importing pandas through Beam, and pandas still works."""
import subprocess
import sys


def test_beam_is_imported_without_pandas_and_pandas_still_imports():
    code = ("import sys; from evalbeam import cli; cli._import_beam_without_pandas(); "
            "import apache_beam; assert 'pandas' not in sys.modules, 'pandas imported'; "
            "import pandas; print(pandas.DataFrame({'a': [1, 2]}).a.sum())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
