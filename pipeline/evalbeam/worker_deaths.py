"""A local worker process that dies stops the run at once, with one line, instead of leaving it
waiting forever.

Beam's in-process runner (FnApiRunner) with worker processes (evalbeam's worker per core, or
``--direct_num_workers=N --direct_running_mode=multi_processing``) starts each worker as a
subprocess and waits for its answer to every bundle it sends it. When a worker dies (``kill
-9``, the out-of-memory killer), Beam prints its exit code from a thread of its own and the
run waits forever: for the dead worker's answers, and then for the other workers, whose
bundles wait for input that no longer comes (Beam watches its Docker workers for that, not its
subprocess workers). While :func:`noticed` is in force, the death of a worker fails the bundles
it held with :class:`~evalbeam.errors.WorkerDied`, and the other workers are stopped with the
run. The workers also end with the run's process when that is killed (Linux:
:func:`end_with_the_run`), where Beam's would be left waiting.
"""
from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import subprocess
import sys
import threading

from evalbeam.errors import EvalbeamError, WorkerDied

STOP_WAIT = 5  # seconds a worker gets to end once the run is stopped by another's death
_SHELL_SYNTAX = re.compile(r"[;&|<>()$`\n]")
_BEAMS = {}  # Beam's own worker handler, by environment
_PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when the thread that started it ends
RUN_PID = "EVALBEAM_RUN_PID"  # a worker's environment: the pid of the run it works for
# Beam's own worker (--direct_running_mode=multi_processing), started through this module's
# main so that it ends with the run too
_BEAMS_WORKER = re.compile(r"^(\S+) -m apache_beam\.runners\.worker\.sdk_worker_main$")


def how_it_ended(returncode: int) -> str:
    """How a worker ended, from its exit code (a shell reports a signal as 128 + its number)."""
    number = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else 0
    try:
        name = signal.Signals(number).name if number else None
    except ValueError:
        name = None
    if name is None:
        return f"exited with code {returncode}"
    hint = " (kill -9, or the out-of-memory killer?)" if name == "SIGKILL" else ""
    return f"was killed by {name}{hint}"


def end_with_the_run() -> None:
    """Make this worker process end when the run's process dies (``kill -9`` of the run: a
    worker left behind would wait forever for bundles that no longer come). Linux only."""
    run = os.environ.get(RUN_PID)
    if not run or not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(run):  # the run died before that was said
        os._exit(1)


def _classes(deaths: "_Deaths"):
    import grpc
    from apache_beam.portability.api import beam_fn_api_pb2_grpc, endpoints_pb2
    from apache_beam.runners.portability import local_job_service
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    from apache_beam.utils import thread_pool_executor
    from google.protobuf import json_format, text_format

    class Worker(local_job_service.SubprocessSdkWorker):
        """Beam's subprocess worker (its ``run``, with the process kept in ``process``)."""

        process = None

        def run(self):
            logging_server = grpc.server(thread_pool_executor.shared_unbounded_instance(),
                                         options=[("grpc.http2.max_pings_without_data", 0),
                                                  ("grpc.http2.max_ping_strikes", 0)])
            logging_port = logging_server.add_insecure_port("[::]:0")
            logging_server.start()
            beam_fn_api_pb2_grpc.add_BeamFnLoggingServicer_to_server(
                local_job_service.BeamFnLoggingServicer(), logging_server)
            descriptor = lambda url: text_format.MessageToString(  # noqa: E731
                endpoints_pb2.ApiServiceDescriptor(url=url))
            env = dict(os.environ, CONTROL_API_SERVICE_DESCRIPTOR=descriptor(self._control_address),
                       LOGGING_API_SERVICE_DESCRIPTOR=descriptor(f"localhost:{logging_port}"),
                       PIPELINE_OPTIONS=json_format.MessageToJson(
                           self._provision_info.provision_info.pipeline_options))
            if self._worker_id:
                env["WORKER_ID"] = self._worker_id
            env[RUN_PID] = str(os.getpid())
            command = _BEAMS_WORKER.sub(r"\1 -m evalbeam.worker_deaths", self._worker_command_line)
            if not _SHELL_SYNTAX.search(command):  # the worker itself, not a shell above it
                command = f"exec {command}"
            try:
                with worker_handlers.SUBPROCESS_LOCK:
                    self.process = subprocess.Popen(command, shell=True, env=env)
                return self.process.wait()
            finally:
                if self.process is not None and self.process.poll() is None:
                    self.process.kill()
                logging_server.stop(0)

    class Watched(worker_handlers.SubprocessSdkWorkerHandler):
        """Beam's subprocess worker handler, failing what the run waits for when its worker
        ends before the runner stopped it, and stopping its worker once another died. The
        streams of a dead worker break: that is said once, by the run's error."""

        stopping = False

        def start_worker(self):
            control, data = self.control_conn, self.data_conn  # neither reads yet
            control._read_thread = threading.Thread(
                name="beam_control_read", target=lambda: self._quiet(control._read))
            read_inputs, close = data._read_inputs, data.close
            data._read_inputs = lambda elements: self._quiet(read_inputs,
                                                             self._until_death(elements))
            data.close = lambda: self._quiet(close)
            worker = self.worker = Worker(self._worker_command_line, self.control_address,
                                          self.provision_info, self.worker_id)
            deaths.workers += 1

            def run():
                code = worker.run()
                if code and not self.stopping:
                    deaths.append(WorkerDied(f"a worker process of the run {how_it_ended(code)}"))
                    # the runner waits for the bundle's answer and for its output data: both
                    # fail now (the data channel raises what it holds within a second)
                    control.abort(deaths[0])
                    data._exception = deaths[0]

            self.worker_thread = threading.Thread(name="run_worker", target=run, daemon=True)
            self.worker_thread.start()

        def _until_death(self, elements):
            """The worker's data elements; if they break off because a worker died (this one:
            known once its process is reaped), the death is what the data channel holds."""
            try:
                yield from elements
            except grpc.RpcError:
                self.worker_thread.join(STOP_WAIT)
                if deaths:
                    raise deaths[0] from None
                raise

        def _quiet(self, step, *args):
            """A step on a stream of the worker; the death of a worker, said once by the run's
            error, ends it quietly."""
            try:
                step(*args)
            except grpc.RpcError:
                self.worker_thread.join(STOP_WAIT)
                if not deaths:
                    raise
            except WorkerDied:
                pass

        def close(self):
            self.stopping = True
            process = self.worker.process
            if deaths and process is not None and process.poll() is None:
                process.terminate()  # its bundles would wait forever for what the dead one held
                self.worker_thread.join(STOP_WAIT)
                if process.poll() is None:
                    process.kill()
            super().close()

    return Watched


@contextlib.contextmanager
def noticed():
    """Within the block, a local run's worker process that dies stops the run."""
    from apache_beam.portability import python_urns
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    registry = worker_handlers.WorkerHandler._registered_environments
    urn = python_urns.SUBPROCESS_SDK
    beams = _BEAMS.setdefault(urn, registry[urn])  # (also when another run's is in force)
    deaths = _Deaths()
    registry[urn] = (_classes(deaths), beams[1])
    data_plane = logging.getLogger("apache_beam.runners.worker.data_plane")
    data_plane.addFilter(_not_a_death)
    try:
        yield
    except Exception as e:
        # a dead worker's streams can break (``Channel closed prematurely``) before its
        # process is reaped and its death known: the run's error is then that death
        if (not isinstance(e, EvalbeamError) and deaths.workers
                and _death_within(deaths, STOP_WAIT) is not None):
            raise deaths[0] from None
        raise
    finally:
        registry[urn] = beams
        data_plane.removeFilter(_not_a_death)


class _Deaths(list):
    """The deaths of a run's workers, and how many workers it started."""

    workers = 0


def _death_within(deaths: list, seconds: float):
    """The first worker death noticed within ``seconds`` (None if none is)."""
    import time

    deadline = time.monotonic() + seconds
    while not deaths and time.monotonic() < deadline:
        time.sleep(0.05)
    return deaths[0] if deaths else None


def _not_a_death(record) -> bool:
    """Whether a log record is not the data channel's report of a death the run says."""
    return not (record.exc_info and isinstance(record.exc_info[1], WorkerDied))


if __name__ == "__main__":  # Beam's worker, ending with the run
    import runpy

    end_with_the_run()
    runpy.run_module("apache_beam.runners.worker.sdk_worker_main", run_name="__main__",
                     alter_sys=True)
