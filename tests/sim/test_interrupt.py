"""Ctrl-C stops a multi-threaded simulation promptly (worker threads check a cancel flag per block)."""
import os
import signal
import subprocess
import sys
import time

_SCRIPT = """
import sys
import hdlimits as hd
prob = hd.Problem.isotropic(1000, noise=hd.noise.gaussian(0.1), seed=0)
t_max = float(sys.argv[1])
print("start", flush=True)
hd.simulate(prob, hd.SGD(0.5), [0.0, t_max], runs=2, seed=0, workers=2, progress=False)
print("done", flush=True)
"""


def _python(args, **kw):
    env = dict(os.environ, HDLIMITS_NO_PROGRESS="1")
    return subprocess.Popen([sys.executable, "-c", _SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_sigint_stops_two_worker_simulation_within_seconds():
    # warm the numba cache so that the second process is in the kernels soon after "start"
    warm = _python(["0.5"])
    out, err = warm.communicate(timeout=600)
    assert warm.returncode == 0, err
    # about a minute of work per run (2·10⁹ coordinate-steps each)
    proc = _python(["2000"])
    try:
        assert proc.stdout.readline().strip() == "start"
        time.sleep(3.0)                          # the workers are now inside the kernels
        assert proc.poll() is None
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        elapsed = time.perf_counter() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert "KeyboardInterrupt" in err, err
    assert proc.returncode in (1, -signal.SIGINT)
    assert elapsed < 15.0, f"took {elapsed:.1f} s to stop after SIGINT"
