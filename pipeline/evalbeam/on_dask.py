"""What a run on Beam's DaskRunner needs besides the pipeline: its partitioning, a clear error
when the scheduler does not answer, and its client closed afterwards.

The DaskRunner ignores ``Reshuffle`` and puts up to 128 elements of a ``Create`` in one Dask
partition, which one worker computes: the read tasks would all land on one worker. Unless the
user sets ``--dask_npartitions`` or ``--dask_partition_size``, a run gives every element of the
largest ``Create`` (the read tasks) its own partition.
"""
from __future__ import annotations

import apache_beam as beam

from evalbeam.errors import EvalbeamError

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


def run(pipeline) -> None:
    """Run ``pipeline`` on the DaskRunner and wait for it: partitioned by read task (see
    :func:`set_partitions`), grouped by Dask's task-based shuffle (what the runner's groupby
    takes on a cluster anyway, unless Dask's config names another), a scheduler that does not
    answer is a one-line error, and the client (and a local cluster it started) is closed
    afterwards, so nothing reports a lost connection when the process exits."""
    import dask

    set_partitions(pipeline)
    # A Bag's groupby asks dask.dataframe for the default shuffle method (importing it: about a
    # second) to be told "p2p", which Bags do not have, and takes "tasks" instead: say so first
    method = dask.config.get("dataframe.shuffle.method", None) or "tasks"
    try:
        with dask.config.set({"dataframe.shuffle.method": method}):
            result = pipeline.run()
    except OSError as e:  # distributed's "Timed out trying to connect to tcp://..."
        address = pipeline.options.get_all_options().get("address")
        said = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise EvalbeamError(f"no Dask scheduler answers at {address} (--dask_client_address): "
                            f"{said}; is it running? (--dask_connection_timeout=SECONDS waits "
                            "longer)") from None
    try:
        result.wait_until_finish()
    finally:
        result.client.close()
