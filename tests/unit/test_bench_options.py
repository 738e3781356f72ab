"""The bench's options from the environment: cards per client."""

import pytest

from bench import options


def test_each_client_serves_sixteen_cards_unless_told():
    assert options.load({}).cards == 16
    assert options.load({"HUIYUAN_BENCH_CARDS": "1"}).cards == 1


@pytest.mark.parametrize("cards", ["0", "-3"])
def test_fewer_than_one_card_per_client_is_refused(cards):
    with pytest.raises(SystemExit, match="HUIYUAN_BENCH_CARDS must be at least 1"):
        options.load({"HUIYUAN_BENCH_CARDS": cards})
