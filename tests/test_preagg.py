"""Pre-aggregation: a batch's partial tables per slicing spec."""
import numpy as np
import pyarrow as pa

from conftest import USER_METRICS, plan
from evalbeam.combine import FusedCombineFn
from evalbeam.compute import select_slices
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
