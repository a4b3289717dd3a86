"""What a run on Beam's DaskRunner needs besides the pipeline: its partitioning, and its client
closed afterwards.

The DaskRunner ignores ``Reshuffle`` and puts up to 128 elements of a ``Create`` in one Dask
partition, which one worker computes: the read tasks would all land on one worker. Unless the
user sets ``--dask_npartitions`` or ``--dask_partition_size``, a run gives every element of the
largest ``Create`` (the read tasks) its own partition.
"""
from __future__ import annotations

import apache_beam as beam

RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def is_dask(runner) -> bool:
    return f"{type(runner).__module__}.{type(runner).__qualname__}" == RUNNER


def drops_bundle_output(runner) -> bool:
    """Whether what a DoFn emits in ``finish_bundle`` is lost on ``runner`` (the DaskRunner
    takes a partition's output before it calls ``finish_bundle``)."""
    return is_dask(runner)


class _CreateSizes(beam.pipeline.PipelineVisitor):
    def __init__(self):
        self.sizes = []

    def enter_composite_transform(self, node):
        if isinstance(node.transform, beam.Create):
            self.sizes.append(len(node.transform.values))

    def visit_transform(self, node):
        self.enter_composite_transform(node)


def read_tasks(pipeline) -> int:
    """The number of elements of the pipeline's largest ``Create`` (at least 1)."""
    visitor = _CreateSizes()
    pipeline.visit(visitor)
    return max(visitor.sizes, default=1) or 1


def set_partitions(pipeline) -> None:
    """One Dask partition per read task, unless the pipeline's options say how to partition."""
    from apache_beam.runners.dask.dask_runner import DaskOptions

    options = pipeline.options  # the pipeline's own copy, which its run reads
    given = options.get_all_options(drop_default=True)
    if given.get("npartitions") or given.get("partition_size"):
        return
    options.view_as(DaskOptions).npartitions = read_tasks(pipeline)


def close(run) -> None:
    """Close the client a DaskRunner run opened (and the local cluster it started, if any),
    so nothing reports a lost connection when the process exits."""
    client = getattr(run, "client", None)
    if client is not None:
        client.close()
