"""`deploy/run_all.py` keeps the system up: a child that dies is restarted with
a doubling pause, and a signal still stops everything."""

import signal
import sys
import time

from deploy.run_all import Child, Supervisor

DIES = [sys.executable, "-c", "import sys; sys.exit(3)"]
LIVES = [sys.executable, "-c", "import time; time.sleep(60)"]


def supervisor(*children: Child, **kwargs) -> Supervisor:
    kwargs = {"restart_first": 0.5, "restart_cap": 2.0, "stable_after": 60.0, "grace": 5.0, **kwargs}
    sup = Supervisor(children, {}, **kwargs)
    sup.start()
    return sup


def wait_exit(child: Child) -> int:
    return child.process.wait(timeout=10)


def test_a_child_that_keeps_dying_is_restarted_after_doubling_pauses_up_to_the_cap():
    crashy = Child("crashy", DIES)
    sup = supervisor(crashy)
    try:
        now = 1000.0
        crashy.started_at = now
        pauses = []
        for _ in range(5):
            assert wait_exit(crashy) == 3
            first_pid = crashy.process.pid
            assert sup.step(now) is None  # the death is seen and a restart scheduled
            pauses.append(crashy.restart_at - now)
            assert sup.step(crashy.restart_at - 0.01) is None  # not yet due
            assert crashy.process.pid == first_pid
            now = crashy.restart_at
            assert sup.step(now) is None  # due: a new process
            assert crashy.process.pid != first_pid
            crashy.started_at = now  # it dies at once: well before `stable_after`
        # 0.5 s, doubling, capped at 2 s
        assert pauses == [0.5, 1.0, 2.0, 2.0, 2.0]
        assert crashy.restarts == 5
    finally:
        sup.stop()


def test_a_child_that_had_stayed_up_is_restarted_after_the_first_pause_again():
    child = Child("steady", DIES)
    sup = supervisor(child)
    try:
        child.pause = 2.0  # it had been dying before
        child.started_at = 1000.0
        wait_exit(child)
        sup.step(1000.0 + 60.0)  # up for 60 s: stable
        assert child.restart_at == 1060.0 + 0.5
        assert child.pause == 1.0
    finally:
        sup.stop()


def test_a_signal_stops_every_child_and_cancels_a_pending_restart():
    crashy, steady = Child("crashy", DIES), Child("steady", LIVES)
    sup = supervisor(crashy, steady)
    wait_exit(crashy)
    assert sup.step() is None and crashy.restart_at is not None
    sup.signals.append(signal.SIGTERM)
    started = time.monotonic()
    assert sup.step() == 0
    assert time.monotonic() - started < 5
    assert steady.process.poll() is not None  # stopped by SIGTERM, not left behind
    assert crashy.restart_at is None and crashy.restarts == 0
