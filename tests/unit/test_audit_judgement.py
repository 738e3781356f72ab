"""`make audit`'s judgement: a backlog still draining is waited for; findings that stay put fail."""

from deploy import audit


def _judge(monkeypatch, looks: list[list[str]]) -> tuple[list[str], int]:
    seen = iter(looks)
    calls = []
    monkeypatch.setattr(audit, "settle", lambda engine, seconds: None)
    monkeypatch.setattr(audit.time, "sleep", lambda seconds: None)

    def findings(engine, chain_id):
        calls.append(chain_id)
        return next(seen)

    monkeypatch.setattr(audit, "findings", findings)
    return audit.audit(object(), settle_seconds=30), len(calls)


def test_findings_that_shrink_are_a_backlog_draining_and_are_waited_for(monkeypatch):
    looks = [["points: 52 behind"], ["points: 18 behind"], ["points: 3 behind"], []]
    assert _judge(monkeypatch, looks) == ([], 4)


def test_findings_that_stay_the_same_between_two_looks_fail(monkeypatch):
    looks = [["points: 18 behind"], ["points: 7 behind"], ["points: 7 behind"], []]
    assert _judge(monkeypatch, looks) == (["points: 7 behind"], 3)


def test_a_clean_book_is_judged_once(monkeypatch):
    assert _judge(monkeypatch, [[]]) == ([], 1)
