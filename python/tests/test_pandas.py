"""pandas from the Python module and the CLI, as an analyst's script uses it: a
factory with pandas pre-imported, a CSV in from a mounted directory and results out
through collect_files, a session keeping a frame, the CLI with the package files.

Needs the numpy and pandas package trees (./build.sh builds both and ctest passes
them as $ERYX_NUMPY_PACKAGE and $ERYX_PANDAS_PACKAGE); skipped without them."""
import csv
import io
import json
import os
import subprocess
from pathlib import Path

import pytest

import eryx

NUMPY = os.environ.get("ERYX_NUMPY_PACKAGE")
PANDAS = os.environ.get("ERYX_PANDAS_PACKAGE")
pytestmark = pytest.mark.skipif(not (NUMPY and PANDAS),
                                reason="ERYX_NUMPY_PACKAGE / ERYX_PANDAS_PACKAGE not set (./build.sh sets them)")


@pytest.fixture(scope="module")
def factory():
    return eryx.SandboxFactory(packages=[NUMPY, PANDAS], imports=["pandas"])


@pytest.fixture()
def sales(tmp_path):
    """A small sales ledger on the host, mounted read-only into the sandbox."""
    rows = [("2024-01-03", "north", "tea", 3, 4.5), ("2024-01-03", "south", "tea", 1, 4.5),
            ("2024-01-04", "north", "coffee", 2, 7.0), ("2024-02-10", "south", "coffee", 5, 7.0),
            ("2024-02-11", "north", "tea", 4, 4.5), ("2024-02-12", "east", "cake", 2, 3.25)]
    with open(tmp_path / "sales.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "region", "item", "qty", "price"])
        w.writerows(rows)
    return tmp_path


def test_report_from_a_mounted_csv(factory, sales):
    sb = factory.create_sandbox(volumes=[(str(sales), "/mnt/in", True)], collect_files="/data/out")
    r = sb.execute(
        "import os, pandas as pd\n"
        "df = pd.read_csv('/mnt/in/sales.csv', parse_dates=['date'])\n"
        "df['revenue'] = df.qty * df.price\n"
        "by_month = df.groupby(df.date.dt.to_period('M'))['revenue'].sum()\n"
        "pivot = df.pivot_table(index='region', columns='item', values='qty', aggfunc='sum', fill_value=0)\n"
        "os.makedirs('/data/out')\n"
        "pivot.to_csv('/data/out/pivot.csv')\n"
        "by_month.rename(str).to_json('/data/out/by_month.json')\n"
        "print(by_month.round(2).to_dict())\n"
        "print(df.sort_values('revenue', ascending=False).iloc[0]['item'])")
    assert r.stdout_text.splitlines() == ["{Period('2024-01', 'M'): 32.0, Period('2024-02', 'M'): 59.5}", "coffee"]
    files = dict(r.files)
    assert json.loads(files["/data/out/by_month.json"]) == {"2024-01": 32.0, "2024-02": 59.5}
    pivot = list(csv.reader(io.StringIO(files["/data/out/pivot.csv"].decode())))
    assert pivot == [["region", "cake", "coffee", "tea"], ["east", "2", "0", "0"],
                     ["north", "0", "2", "7"], ["south", "0", "5", "1"]]


def test_rolling_merge_and_time_zones(factory):
    r = factory.create_sandbox().execute(
        "import pandas as pd\n"
        "t = pd.date_range('2024-03-09 12:00', periods=3, freq='D', tz='America/New_York')\n"
        "s = pd.Series([1.0, 2.0, 4.0], index=t)\n"
        "print(s.rolling(2).mean().tolist()[1:])\n"
        "print([x.isoformat() for x in t.tz_convert('UTC')])\n"
        "l = pd.DataFrame({'id': [1, 2, 3], 'name': ['ann', 'bob', 'cy']})\n"
        "r = pd.DataFrame({'id': [3, 1], 'score': [9, 7]})\n"
        "print(l.merge(r, how='left', on='id').fillna(-1).astype({'score': int}).values.tolist())\n"
        "print(pd.Series(['a-1', 'b-22', None]).str.split('-').str[1].str.len().tolist())")
    assert r.stdout_text.splitlines() == [
        "[1.5, 3.0]",
        # 2024-03-10 02:00 is the US switch to daylight time: noon is EST (UTC-5) before, EDT (UTC-4)
        # after; 'D' is a calendar day there (a fixed '24h' would give 13:00 local)
        "['2024-03-09T17:00:00+00:00', '2024-03-10T16:00:00+00:00', '2024-03-11T16:00:00+00:00']",
        "[[1, 'ann', 7], [2, 'bob', -1], [3, 'cy', 9]]",
        "[1.0, 2.0, nan]"]


def test_each_sandbox_starts_fresh_and_errors_are_pandas_own(factory):
    a = factory.create_sandbox()
    a.execute("import pandas as pd\npd.set_option('display.max_rows', 3)\nleak = pd.DataFrame({'x': [1]})")
    b = factory.create_sandbox()
    assert b.execute("import pandas as pd\nprint(pd.get_option('display.max_rows'), 'leak' in dir())").stdout_text \
        == "60 False\n"
    with pytest.raises(eryx.ExecutionError) as e:
        b.execute("import pandas as pd\npd.DataFrame({'a': [1]})['missing']")
    assert "KeyError" in str(e.value) and "missing" in str(e.value)
    # the sandbox stays usable after the error
    assert b.execute("import pandas as pd\nprint(len(pd.DataFrame({'a': range(5)})))").stdout_text == "5\n"


def test_session_keeps_a_frame(factory):
    s = factory.create_session()
    s.execute("import pandas as pd\ndf = pd.DataFrame({'k': list('abab'), 'v': range(4)})")
    s.execute("df['w'] = df.v * 10")
    assert s.execute("print(df.groupby('k').w.sum().to_dict())").stdout_text == "{'a': 20, 'b': 40}\n"


def test_memory_limit_is_a_clean_error(factory):
    sb = factory.create_sandbox(resource_limits=eryx.ResourceLimits(max_memory_bytes=256 << 20))
    with pytest.raises(eryx.ResourceLimitError, match="memory limit.*of 256 MiB allowed.*MemoryError"):
        sb.execute("import pandas as pd, numpy as np\npd.DataFrame(np.zeros((40_000_000, 2)))")
    assert sb.execute("print('ok')").stdout_text == "ok\n"


def _cli():
    for p in (Path.cwd() / "eryx", Path(__file__).resolve().parents[2] / "build" / "eryx"):
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    pytest.skip("no eryx CLI next to the build's venv")


def test_cli_with_the_package_trees(tmp_path):
    (tmp_path / "in.csv").write_text("city,temp\nOslo,-3\nLima,19\nOslo,1\n")
    out = subprocess.run(
        [_cli(), "--package", NUMPY, "--package", PANDAS, "--import", "pandas",
         "--mount", f"{tmp_path}:/mnt/in:ro", "--result", "-c",
         "import pandas as pd\n"
         "df = pd.read_csv('/mnt/in/in.csv')\n"
         "result = df.groupby('city').temp.mean().to_dict()"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"Lima": 19.0, "Oslo": -1.0}
