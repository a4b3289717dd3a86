"""The derived-value cache of StreamArrays: a resample's copy gathers what does not read the
weights from its source and makes what does under its own weights."""
import numpy as np

from evalbeam.metrics.base import StreamArrays


def test_a_repeat_gathers_unweighted_values_and_remakes_weighted_ones():
    y, p, w = np.array([0.0, 1.0, 1.0]), np.array([0.2, 0.7, 0.9]), np.array([1.0, 2.0, 3.0])
    source = StreamArrays(y, p, w)
    calls = []

    def margin(a):
        calls.append("margin")
        return a.p - a.y

    source.derived("margin", margin)
    assert source.derived("weighted label", lambda a: a.w * a.y, weighted=True).tolist() == [0, 2, 3]

    rows, new_w = np.array([2, 2, 0]), np.array([0.5, 0.5, 4.0])
    copy = source.repeat(rows, new_w)
    np.testing.assert_array_equal(copy.derived("margin", margin), (p - y)[rows])
    assert calls == ["margin"]  # gathered from the source, not made again
    # made under the copy's own weights: w' * y[rows], not the source's w * y gathered
    np.testing.assert_array_equal(
        copy.derived("weighted label", lambda a: a.w * a.y, weighted=True), new_w * y[rows])


def test_take_keeps_cached_arrays_of_the_rows_taken():
    y, p, w = np.array([0.0, 1.0, 1.0]), np.array([0.2, 0.7, 0.9]), np.array([1.0, 2.0, 3.0])
    source = StreamArrays(y, p, w)
    source.derived("weighted prediction", lambda a: a.w * a.p, weighted=True)
    taken = source.take(np.array([1, 2]))
    np.testing.assert_array_equal(taken.derived("weighted prediction", None, weighted=True),
                                  (w * p)[[1, 2]])
