"""tokenize: equal inputs, equal tokens, in any process; different inputs differ."""
from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from shoal.core.tokenize import tokenize

VALUES_SCRIPT = textwrap.dedent("""
    import functools, json, sys
    import numpy as np, pandas as pd
    from shoal.core.tokenize import tokenize

    def outer(k):
        def inner(x):
            return x + k
        return inner

    values = {
        "ints": (1, 2, [3, 4], {"a": 5, "b": {6, 7}}),
        "array": np.arange(12, dtype="f8").reshape(3, 4),
        "big": np.linspace(0, 1, 3_000_000),
        "frame": pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None]}, index=[5, 6, 7]),
        "series": pd.Series([1.5, 2.5], name="s"),
        "lambda": lambda x: x * 2,
        "closure": outer(3),
        "partial": functools.partial(max, 1),
        "nested": [np.ones(3), {"k": pd.Series([1])}, (None, 2.5, "s")],
    }
    json.dump({k: tokenize(v) for k, v in values.items()}, sys.stdout)
""")


def tokens_in_new_process():
    out = subprocess.run([sys.executable, "-c", VALUES_SCRIPT], capture_output=True, text=True,
                         check=True, timeout=120, env={"PYTHONHASHSEED": "random", "PATH": ""})
    return json.loads(out.stdout)


def test_tokens_are_deterministic_across_processes():
    a = tokens_in_new_process()
    b = tokens_in_new_process()
    assert a == b
    assert len(set(a.values())) == len(a)


def test_arrays_by_content():
    x = np.arange(100.0)
    assert tokenize(x) == tokenize(x.copy())
    y = x.copy()
    y[-1] = -1
    assert tokenize(x) != tokenize(y)
    assert tokenize(x) != tokenize(x.astype("f4"))
    assert tokenize(x.reshape(10, 10)) != tokenize(x.reshape(10, 10).T)
    assert tokenize(x[::2]) == tokenize(np.ascontiguousarray(x[::2]))


def test_pandas_by_content():
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert tokenize(df) == tokenize(df.copy())
    assert tokenize(df) != tokenize(df.assign(a=[1, 3]))
    assert tokenize(df) != tokenize(df.rename(columns={"a": "c"}))
    assert tokenize(df.a) != tokenize(df.a.rename("z"))


def test_containers_and_order():
    assert tokenize({"a": 1, "b": 2}) == tokenize({"b": 2, "a": 1})
    assert tokenize({1, 2, 3}) == tokenize({3, 2, 1})
    assert tokenize([1, 2]) != tokenize((1, 2))
    assert tokenize(1) != tokenize("1")
    assert tokenize(1, x=2) != tokenize(1, 2)


def test_functions():
    def f(x):
        return x + 1

    def g(x):
        return x + 2

    assert tokenize(f) == tokenize(f)
    assert tokenize(f) != tokenize(g)
    assert tokenize(functools.partial(f, 1)) != tokenize(functools.partial(f, 2))
    assert tokenize(lambda x: x) != tokenize(lambda x: x + 1)


def test_objects_without_content_get_unique_tokens():
    class Opaque:
        pass

    a = Opaque()
    assert tokenize(a) != tokenize(a) or tokenize(a) != tokenize(Opaque())
    assert tokenize(Opaque()) != tokenize(Opaque())


def test_custom_tokenize_hook():
    class Named:
        def __init__(self, name):
            self.name = name

        def __shoal_tokenize__(self):
            return self.name

    assert tokenize(Named("x")) == tokenize(Named("x"))
    assert tokenize(Named("x")) != tokenize(Named("y"))


def test_recursive_closure_has_a_token():
    def make():
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        return fib

    assert tokenize(make()) == tokenize(make())


def test_ordered_and_special_dicts_keep_their_type_and_order():
    import collections

    o1 = collections.OrderedDict(a=1, b=2)
    o2 = collections.OrderedDict(b=2, a=1)
    assert tokenize(o1) != tokenize(o2)
    assert tokenize({"a": 1, "b": 2}) == tokenize({"b": 2, "a": 1})  # plain dicts: order-free
    assert tokenize(collections.Counter("aab")) != tokenize(dict(collections.Counter("aab")))


def test_pandas_categoricals_object_columns_and_multiindex():
    import numpy as np
    import pandas as pd

    s1 = pd.Series(pd.Categorical(["a", "b"], categories=["a", "b"]))
    s2 = pd.Series(pd.Categorical(["a", "z"], categories=["a", "z"]))
    assert tokenize(s1) != tokenize(s2)
    a = np.arange(2000)
    b = a.copy()
    b[1000] = -1  # the middle a repr would elide
    assert tokenize(pd.Series([a], dtype=object)) != tokenize(pd.Series([b], dtype=object))
    assert tokenize(pd.Series(["ab", "c"], dtype=object)) != tokenize(pd.Series(["a", "bc"], dtype=object))
    df = pd.DataFrame({"a": [1, 1, 2], "b": [1, 2, 3], "c": [1.0, 2, 3]}).groupby(["a", "b"]).sum()
    assert tokenize(df) == tokenize(df.copy()) and tokenize(df) != tokenize(df + 1)


def test_masked_arrays_include_their_mask():
    import numpy as np

    m1 = np.ma.array([1, 2, 3], mask=[0, 0, 1])
    assert tokenize(m1) == tokenize(np.ma.array([1, 2, 3], mask=[0, 0, 1]))
    assert tokenize(m1) != tokenize(np.ma.array([1, 2, 3], mask=[0, 1, 0]))
