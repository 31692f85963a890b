"""``x[key] = value`` against numpy on the same keys and values."""
import numpy as np
import pytest

import shoal.array as da


def same(x, dx):
    got = dx.compute(scheduler="sync")
    assert got.shape == x.shape
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("key,value", [
    (Ellipsis, -1),
    ((slice(None, None, 2), slice(None, None, -1)), -1),
    ([4, 3, 1], -1),
    ((Ellipsis, 4), -1),
    ((slice(None), 2), range(6)),
    (3, range(10)),
    ((slice(None), [9, 8, 8]), [-80, -81, 91]),   # repeated position: the last write wins
    (([-1, 0, 1], 2), [-30, -31, -32]),
    ((slice(1, 3), slice(1, 4)), [[-70, -71, -72]]),
    (([True, False, False, False, True, False], 2), -1),
    ((3, np.arange(10) % 3 == 0), -1),
    (slice(1, None, -2), range(11, 21)),
])
def test_setitem_matches_numpy(key, value):
    x = np.arange(60).reshape(6, 10)
    dx = da.from_array(x.copy(), chunks=(2, 3))
    x[key] = value
    dx[key] = value
    same(x, dx)


def test_setitem_lazy_keys_and_values():
    x = np.arange(60).reshape(6, 10)
    dx = da.from_array(x.copy(), chunks=(2, 3))
    dx[dx % 2 == 0] = -8                 # a lazy mask: where(mask, value, x)
    x[x % 2 == 0] = -8
    same(x, dx)
    dx[2:4, dx[0] > 3] = -5              # a lazy 1-d mask inside a tuple key
    x[2:4, x[0] > 3] = -5
    same(x, dx)
    dx[3:5, 5:1:-2] = -dx[:2, 4:1:-2]    # the value is a function of the array itself
    x[3:5, 5:1:-2] = -x[:2, 4:1:-2]
    same(x, dx)
    dx[:, da.from_array(np.array([0, 2]), chunks=1)] = dx[:, :2]
    x[:, [0, 2]] = x[:, :2]
    same(x, dx)
    v = -np.arange(12).reshape(1, 1, 6, 2)   # extra leading length-1 dimensions
    dx[:, [0, 1]] = v
    x[:, [0, 1]] = v
    same(x, dx)


def test_setitem_untouched_blocks_pass_through_and_readonly_blocks_copy():
    dx = da.zeros((4, 6), chunks=(2, 2))
    before = dx.name
    dx[0, 0] = 5
    graph = dict(dx.__shoal_graph__().layers[dx.name])
    passed = [k for k, v in graph.items() if type(v).__name__ == "Ref" and v.key[0] == before]
    assert len(passed) == dx.npartitions - 1
    assert dx.compute(scheduler="sync")[0, 0] == 5


@pytest.mark.parametrize("key,value,err", [
    ((slice(None), 0), [2, 3, 4], ValueError),
    ((slice(None),) * 3, 2, IndexError),
    (([1, 2], [2, 3]), 6, NotImplementedError),
    (True, 5, NotImplementedError),
    (np.array([True, False, True]), 5, IndexError),
])
def test_setitem_errors(key, value, err):
    x = da.ones((4, 4), chunks=(2, 2))
    with pytest.raises(err):
        x[key] = value


def test_setitem_mask_needs_scalar_and_int_rejects_nan():
    y = da.ones(4, chunks=2)
    with pytest.raises(ValueError, match="scalar"):
        y[y > 0] = [1, 2, 3, 4]
    z = da.ones((3, 3), dtype=int)
    with pytest.raises(ValueError, match="NaN"):
        z[:, 1] = np.nan
