"""Reading CPU time and peak memory out of /proc text."""

import os

from bench import procs

# a real line's shape: the command holds a space and a parenthesis
STAT = (
    "4242 (gunicorn: w (x)) S 4200 4200 4200 0 -1 4194560 12000 0 0 0 "
    "150 30 7 3 20 0 9 0 123456 300000000 20000 18446744073709551615 1 1 0 0 0 0 0 16781312 17024 0 0 0 17 1 0 0"
)


def test_stat_line_parsed_past_a_command_with_spaces_and_parentheses():
    stat = procs.parse_stat(STAT)
    assert (stat.pid, stat.comm, stat.ppid) == (4242, "gunicorn: w (x)", 4200)
    assert stat.cpu_ticks == 150 + 30 + 7 + 3  # utime + stime + cutime + cstime
    assert stat.start_ticks == 123456


def test_peak_rss_from_status():
    status = "Name:\twallet\nVmPeak:\t  500000 kB\nVmHWM:\t   86016 kB\nVmRSS:\t   80000 kB\n"
    assert procs.parse_hwm_kb(status) == 86016
    assert procs.parse_hwm_kb("Name:\tkthreadd\n") is None


def test_cpu_by_group_counts_new_processes_from_zero_and_sums_a_group():
    first = {("gateway", 1): 100, ("gateway", 2): 50, ("wallet", 3): 10}
    last = {("gateway", 1): 130, ("gateway", 2): 60, ("wallet", 3): 10}
    ms = procs.cpu_ms_by_group(first, last)
    assert ms == {"gateway": round(40 * 1000 / procs.TICKS, 1), "wallet": 0.0}


def test_this_process_can_be_read_and_is_its_own_descendant():
    me = procs.read_stat(os.getpid())
    assert me is not None and me.pid == os.getpid()
    assert os.getpid() in procs.descendants(os.getppid())
    assert procs.read_stat(2**22 + 1) is None  # above pid_max: no such process
