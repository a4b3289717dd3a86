"""Pre-aggregation: a batch's partial tables per slicing spec, exact ranking weights, and a
batch too large for one pass computed in parts."""
import numpy as np
import pyarrow as pa

from conftest import USER_METRICS, accumulate, plan, users_table
from evalbeam import preagg
from evalbeam.combine import FusedCombineFn
from evalbeam.compute import select_slices
from evalbeam.extract import extract
from evalbeam.preagg import batch_partials


def test_selection_does_not_depend_on_the_merge_order():
    # 0.1 + 0.2 + 0.3 in floating point depends on the order; the ranking weights do not
    eval_plan = plan(USER_METRICS + "options { max_plot_slices { value: 1 } }")
    t = pa.table({"label": [1, 0, 1, 1], "prediction": [0.5] * 4,
                  "weight": [0.1, 0.2, 0.3, 0.6], "user": [1, 1, 1, 2]})
    parts = [batch_partials(b, eval_plan)[1][1][1] for b in t.to_batches(max_chunksize=1)]
    merged = []
    for order in ([0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1]):
        acc = FusedCombineFn(eval_plan).create_accumulator()
        for i in order:
            acc.merge(parts[i])
        weights = dict(zip(acc.keys, acc.weights.tolist()))
        merged.append(weights)
        chosen = select_slices(acc, eval_plan)
        assert [acc.keys[i] for i in chosen.kept[chosen.plots]] == [(("user", 1),)]  # key: 1 < 2
    assert merged[0] == merged[1] == merged[2]
    assert merged[0][(("user", 1),)] == merged[0][(("user", 2),)]  # 0.1 + 0.2 + 0.3 == 0.6


def test_a_batch_in_parts_is_extracted_once_and_each_part_resamples_as_its_rows_would(
        monkeypatch):
    """A batch whose bootstrap draws more than one pass holds is cut into row ranges of the
    rows read; its rows are extracted once, and each range is pre-aggregated as a batch of its
    own would be: its kept rows, the resamples drawn from its content, the same states."""
    t = users_table(seed=3)
    label = t.column("label").to_numpy().astype(object)
    label[::5] = None  # dropped, and counted once
    t = t.set_column(0, "label", pa.array(list(label), pa.int64()))
    (batch,) = t.combine_chunks().to_batches()
    n, kept, R = batch.num_rows, batch.num_rows - len(label[::5]), 20
    eval_plan = plan(USER_METRICS + "options { compute_confidence_intervals { value: true } "
                     f"confidence_intervals {{ method: POISSON_BOOTSTRAP num_samples: {R} }} }}")
    extractions = []
    monkeypatch.setattr(preagg, "extract",
                        lambda *a: extractions.append(a[0].num_rows) or extract(*a))
    step = -(-n // 3)  # three ranges of rows read, each within the bound
    monkeypatch.setattr(preagg, "MAX_RESAMPLED_ENTRIES", step * R)
    extracted, tables = preagg.batch_partials(batch, eval_plan)
    assert extractions == [n] and [index for index, _ in tables] == [0, 0, 0, 1, 1, 1]
    tally = {"rows_read": n, "rows_used": kept, "dropped:null label ('label')": len(label[::5])}
    assert extracted.rows_read == n and extracted.batch.num_rows == kept

    pieces = [batch.slice(start, step) for start in range(0, n, step)]
    for start, piece in zip(range(0, n, step), pieces):
        own = extract(piece, eval_plan)
        part = extracted.part(start, start + step)
        assert part.rows_read == piece.num_rows and part.batch.equals(own.batch)
        (stream,) = own.streams
        np.testing.assert_array_equal(eval_plan.resampling.counts(part.streams[stream]),
                                      eval_plan.resampling.counts(own.streams[stream]))
    merged = accumulate(eval_plan, [batch])
    separate = accumulate(eval_plan, pieces)
    assert merged[0].tally == separate[0].tally == tally
    for index, table in separate.items():
        assert merged[index].keys == table.keys
        np.testing.assert_array_equal(merged[index].counts, table.counts)
        np.testing.assert_array_equal(merged[index].weights, table.weights)
        for key in table.keys:
            theirs = table.row(key)
            for name, values in merged[index].row(key).items():
                np.testing.assert_array_equal(values, theirs[name])
