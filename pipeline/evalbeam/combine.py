"""Per-batch partial accumulators and the fused CombineFn that adds them up per slicing spec.

For each batch, :func:`batch_partials` builds one :class:`~evalbeam.metrics.state.SliceTable`
per slicing spec holding every configured family's state for all slices of that batch (one
``np.bincount`` per statistic over the slice codes). :class:`FusedCombineFn` merges those
tables; :func:`slice_results` turns a merged table into metric values and plots per slice.
"""
from __future__ import annotations

from dataclasses import dataclass

import apache_beam as beam
import numpy as np

from evalbeam.extract import extract
from evalbeam.metrics.state import SliceTable
from evalbeam.slicing import ColumnCodes, assign_slices


def batch_partials(batch, eval_plan):
    """``(extracted, [(spec_index, SliceTable), ...])`` for one RecordBatch.

    The first spec's table is always there and carries the batch's row tally.
    """
    extracted = extract(batch, eval_plan)
    tally = {"rows_read": extracted.rows_read, "rows_used": extracted.batch.num_rows}
    tally.update({f"dropped:{reason}": n for reason, n in extracted.dropped.items()})
    data = extracted.batch
    encoded = {}

    def column(name):
        if name not in encoded:
            encoded[name] = ColumnCodes.encode(data.column(name))
        return encoded[name]

    specs = eval_plan.plan.state_specs()
    families = eval_plan.plan.families
    out = []
    for index, spec in enumerate(eval_plan.slice_specs):
        assignment = assign_slices(spec, column, data.num_rows)
        n_slices = len(assignment.keys)
        if not n_slices and index:
            continue
        streams = extracted.streams
        if assignment.rows is not None:
            streams = {s: a.take(assignment.rows) for s, a in streams.items()}
        columns = {}
        for i, family in enumerate(families):
            for name, col in family.add_batch(streams[family.stream], assignment.codes,
                                              n_slices).items():
                columns[f"{i}.{name}"] = col
        counts = np.bincount(assignment.codes, minlength=n_slices)
        out.append((index, SliceTable.from_batch(specs, assignment.keys, counts, columns,
                                                 tally if index == 0 else None)))
    return extracted, out


class FusedCombineFn(beam.CombineFn):
    """Every metric family of one slicing spec in one accumulator (a SliceTable)."""

    def __init__(self, eval_plan):
        self.state_specs = eval_plan.plan.state_specs()

    def create_accumulator(self):
        return SliceTable(self.state_specs)

    def add_input(self, accumulator, table):
        return accumulator.merge(table)

    def merge_accumulators(self, accumulators):
        accumulators = iter(accumulators)
        first = next(accumulators)
        for other in accumulators:  # mutate only the first, as Beam allows
            first.merge(other)
        return first

    def compact(self, accumulator):
        return accumulator.compact()

    def extract_output(self, accumulator):
        return accumulator.compact()


class SliceStats:
    """One slice's state, looked up by family: ``stats(family)["name"]``.

    ``memo(key, fn)`` shares a value derived from the state between the metrics of the slice
    (e.g. the confusion matrices that AUC and AUC-PR both read).
    """

    def __init__(self, plan, row: dict):
        self._plan, self._row = plan, row
        self._memo = {}

    def memo(self, key, fn):
        if key not in self._memo:
            self._memo[key] = fn()
        return self._memo[key]

    def family(self, family):
        return self._plan.families[self._plan.family_index(family)]

    def __call__(self, family) -> dict:
        i = self._plan.family_index(family)
        prefix = f"{i}."
        return {k[len(prefix):]: v for k, v in self._row.items() if k.startswith(prefix)}


@dataclass
class SliceResult:
    """Everything computed for one slice."""

    slice_key: tuple
    example_count: int
    metrics: dict  # MetricKey -> value
    plots: dict  # MetricKey -> plot (columns of numpy arrays)
    metrics_record: bytes = b""  # serialized MetricsForSlice, once computed
    plots_record: bytes = b""  # serialized PlotsForSlice


def slice_results(table: SliceTable, eval_plan):
    """``(results, omitted)``: results per slice kept, and keys of slices below min_slice_size."""
    results, omitted = [], []
    for key, count in zip(table.keys, table.counts.tolist()):
        if eval_plan.min_slice_size > 1 and key and count < eval_plan.min_slice_size:
            omitted.append(key)
            continue
        stats = SliceStats(eval_plan.plan, table.row(key))
        metrics, plots = {}, {}
        for metric in eval_plan.metrics:
            target = plots if metric.info.plot else metrics
            target.update(metric.compute(stats))
        results.append(SliceResult(key, int(count), metrics, plots))
    return results, omitted
