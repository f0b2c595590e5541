"""Runs of a Monte Carlo on worker threads, interruptible — shared by every family's simulator.

:func:`run_parallel` calls ``run_one(seq, cancel)`` once per child ``SeedSequence`` and returns the results
in the children's order. With one worker the runs go in sequence (``cancel`` is None). Otherwise the main
thread waits on the futures with a timeout, so that it keeps handling signals; on any exception
(KeyboardInterrupt included) it sets the cancel flag — which every run checks between kernel calls —,
drops the runs not yet started, waits for the running ones to stop and re-raises.
"""
from __future__ import annotations

import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

__all__ = ["run_parallel"]


def run_parallel(run_one, children, workers: int) -> list:
    """``[run_one(seq, cancel) for seq in children]`` on ``workers`` threads (module docstring)."""
    if workers == 1:
        return [run_one(seq, None) for seq in children]
    cancel = threading.Event()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(run_one, seq, cancel) for seq in children]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            for f in done:
                f.result()                       # re-raise a worker's exception here
        return [f.result() for f in futures]
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
