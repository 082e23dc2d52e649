/* End-to-end test of pandas 3.1.1 for wasm32-wasi, late-linked (the package tree
** guest/packages/build.sh pandas makes: pandas' 45 side modules, python-dateutil,
** six, pytz, tzdata), with the numpy package the tests use: `import pandas`, then
** what analysts' code does first: DataFrame construction, groupby, merge, pivot
** tables, rolling windows, a time-zone-aware date range (tzdata's zoneinfo) and a
** pytz zone, read_csv/to_csv on the sandbox's /tmp, to_json (pandas' _ujson looks
** its state up with PyState_FindModule: the guest's loader must register
** single-phase modules), string methods, resampling; then pandas pre-imported into
** the snapshot, its side modules loaded again in a restored instance.
** Usage: test_pandas NUMPY_PACKAGE PANDAS_PACKAGE */
#define _GNU_SOURCE
#include <stdlib.h>
#include "check.h"
#include "expect_util.h"
#include "eryx.h"

static const char *numpy_pkg, *pandas_pkg;

static eryx_builder *builder(void) { return pkg_builder(numpy_pkg, pandas_pkg); }

static void test_pandas_in_a_sandbox(void) {
    eryx_builder *b = builder();
    eryx_sandbox *s = pkg_sandbox(b);
    CHECK(s != NULL);
    if (!s) {
        eryx_builder_free(b);
        return;
    }
    EXPECT(s,
           "import pandas as pd\n"
           "df = pd.DataFrame({'k': ['a', 'b', 'a', 'c', 'b', 'a'], 'v': [1, 2, 3, 4, 5, 6]})\n"
           "print(pd.__version__, df.groupby('k')['v'].sum().to_dict(), df.shape)",
           "3.1.1 {'a': 10, 'b': 7, 'c': 4} (6, 2)\n");
    EXPECT(s,
           "import pandas as pd\n"
           "l = pd.DataFrame({'id': [1, 2, 3], 'x': ['p', 'q', 'r']})\n"
           "r = pd.DataFrame({'id': [2, 3, 4], 'y': [20, 30, 40]})\n"
           "print(l.merge(r, on='id').to_dict('records'))\n"
           "p = pd.DataFrame({'r': ['a', 'a', 'b', 'b'], 'c': ['x', 'y', 'x', 'y'], 'v': [1, 2, 3, 4]})\n"
           "print(p.pivot_table(index='r', columns='c', values='v', aggfunc='sum').to_dict())",
           "[{'id': 2, 'x': 'q', 'y': 20}, {'id': 3, 'x': 'r', 'y': 30}]\n"
           "{'x': {'a': 1, 'b': 3}, 'y': {'a': 2, 'b': 4}}\n");
    EXPECT(s,
           "import pandas as pd\n"
           "print(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]).rolling(3).mean().tolist())\n"
           "h = pd.Series(range(6), index=pd.date_range('2024-01-01', periods=6, freq='h'))\n"
           "print(h.resample('2h').sum().tolist())",
           "[nan, nan, 2.0, 3.0, 4.0]\n[1, 5, 9]\n");
    /* 2024-03-10 is the US switch to daylight time: midnight is still EST (UTC-5),
    ** the next midnight EDT (UTC-4). Needs tzdata (WASI has no /usr/share/zoneinfo). */
    EXPECT(s,
           "import pandas as pd, pytz\n"
           "i = pd.date_range('2024-03-09', periods=3, freq='D', tz='America/New_York')\n"
           "print(i.tz_convert('UTC').strftime('%Y-%m-%d %H:%M').tolist())\n"
           "print(pd.Timestamp('2024-07-01 12:00', tz=pytz.timezone('Europe/Paris')).tz_convert('UTC'))",
           "['2024-03-09 05:00', '2024-03-10 05:00', '2024-03-11 04:00']\n2024-07-01 10:00:00+00:00\n");
    EXPECT(s,
           "import pandas as pd\n"
           "pd.DataFrame({'a': [1, 2], 'b': ['x', 'y']}).to_csv('/tmp/t.csv', index=False)\n"
           "print(open('/tmp/t.csv').read(), end='')\n"
           "print(pd.read_csv('/tmp/t.csv').to_dict('list'))",
           "a,b\n1,x\n2,y\n{'a': [1, 2], 'b': ['x', 'y']}\n");
    EXPECT(s,
           "import pandas as pd\n"
           "print(pd.DataFrame({'a': [1, 2], 'b': [0.5, None]}).to_json(orient='records'))\n"
           "print(pd.Series([1, 2], index=['x', 'y']).to_json())",
           "[{\"a\":1,\"b\":0.5},{\"a\":2,\"b\":null}]\n{\"x\":1,\"y\":2}\n");
    EXPECT(s,
           "import pandas as pd\ns = pd.Series(['Apple', 'banana', 'Cherry'])\n"
           "print(s.str.upper().tolist(), s.str.contains('an').tolist(), s.str.len().tolist())",
           "['APPLE', 'BANANA', 'CHERRY'] [False, True, False] [5, 6, 6]\n");
    /* memory_map needs mmap, which CPython for WASI lacks: a clear error
    ** (guest/packages/pandas/patches/0002-wasi-no-mmap-no-threads.patch). */
    EXPECT(s,
           "import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('/tmp/m.csv', index=False)\n"
           "try:\n    pd.read_csv('/tmp/m.csv', memory_map=True)\nexcept OSError as e:\n    print('mmap' in str(e))",
           "True\n");
    eryx_sandbox_free(s);
    eryx_builder_free(b);
}

/* pandas in the snapshot: its side modules (and numpy's) loaded again in every
** restored instance, from the log the snapshot carries. */
static void test_preimported_pandas(void) {
    EXPECT_PREIMPORTED(builder(), "pandas",
                       "import sys\nprint('pandas' in sys.modules)\nimport pandas as pd\n"
                       "print(pd.DataFrame({'k': [1, 1, 2], 'v': [1.5, 2.5, 4.0]}).groupby('k').v.mean().tolist())",
                       "True\n[2.0, 4.0]\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test_pandas NUMPY_PACKAGE PANDAS_PACKAGE\n");
        return 2;
    }
    numpy_pkg = argv[1];
    pandas_pkg = argv[2];
    test_pandas_in_a_sandbox();
    test_preimported_pandas();
    return check_report("test_pandas");
}
