"""The derived-value cache of the arrays families read (StreamArrays, QueryArrays): a
resample's copy gathers what does not read the weights from its source and makes what does
under its own weights."""
import gc
import weakref

import numpy as np

from evalbeam.arrays import QueryArrays, StreamArrays


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


def test_a_resample_cached_on_its_source_does_not_keep_the_source_alive():
    source = StreamArrays(np.zeros(3), np.full(3, 0.5), np.ones(3))
    copy = source.derived("resample", lambda a: a.repeat(np.array([0, 0, 2]), np.ones(3)),
                          weighted=True)
    assert copy.derived("twice p", lambda a: 2 * a.p).tolist() == [1.0, 1.0, 1.0]
    alive = weakref.ref(source)
    gc.disable()  # freed by its reference count alone: no cycle through the cached copy
    try:
        del source, copy
        assert alive() is None
    finally:
        gc.enable()


def queries():
    """Three queries of 2, 1 and 3 documents (sorted by query), weights 1, 2 and 0.5."""
    prediction = np.array([0.9, 0.1, 0.5, 0.3, 0.8, 0.2])
    label = np.array([0.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    starts, sizes, w = np.array([0, 2, 3]), np.array([2, 1, 3]), np.array([1.0, 2.0, 0.5])
    read = []

    def docs(column):
        read.append(column)
        return label
    return QueryArrays(prediction, starts, sizes, w, docs), read


def relevant(q):
    """Relevant documents per query: reads the documents, which only the source holds."""
    return q.per_query(q.docs("") > 0).astype(np.float64)


def test_queries_taken_gather_per_query_values_made_once_over_all_queries():
    source, read = queries()
    rows = np.array([2, 0, 2])  # one per (query, slice) pair
    taken = source.take(rows)
    np.testing.assert_array_equal(taken.w, [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(taken.derived("relevant", relevant), [2.0, 1.0, 2.0])
    np.testing.assert_array_equal(source.derived("relevant", None), [1.0, 1.0, 2.0])
    assert read == [""]  # the documents were read once, by the source
    # a weighted value is made for the queries taken, under their weights
    np.testing.assert_array_equal(
        taken.derived("weighted relevant", lambda a: a.w * a.derived("relevant", relevant),
                      weighted=True), [1.0, 1.0, 1.0])
    # ranked within each query by prediction: labels of query 2 in order 0.8, 0.3, 0.2
    np.testing.assert_array_equal(source.ranked(""), [0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(source.position(), [0, 1, 0, 0, 1, 2])


def test_a_resample_of_queries_taken_gathers_through_both_sources():
    source, read = queries()
    taken = source.take(np.array([1, 2]))
    copy = taken.repeat(np.array([1, 1, 0]), np.array([3.0, 3.0, 1.0]))
    np.testing.assert_array_equal(copy.sizes, [3, 3, 1])
    np.testing.assert_array_equal(copy.derived("relevant", relevant), [2.0, 2.0, 1.0])
    np.testing.assert_array_equal(
        copy.derived("weighted size", lambda a: a.w * a.sizes, weighted=True), [9.0, 9.0, 1.0])
    assert read == [""]
    del source  # queries taken hold their source: their documents stay there
    np.testing.assert_array_equal(taken.derived("documents", lambda q: q.per_query(
        np.ones(len(q.prediction)))), [1.0, 3.0])
