"""`constant`: a value written into a statement's text, for a partial index's condition."""

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql

from services.kit.built import constant

things = Table("things", MetaData(), Column("id", Integer), Column("status", String), Column("remaining", Integer))


def _sql(statement) -> str:
    compiled = statement.compile(dialect=postgresql.dialect())
    assert compiled.params == {}, compiled.params  # nothing sent as a parameter
    return str(compiled)


def test_an_int_and_strings_are_written_into_the_text():
    statement = select(things.c.id).where(
        things.c.remaining > constant(0), things.c.status.in_([constant("held"), constant("it's")])
    )
    sql = _sql(statement)
    assert "things.remaining > 0" in sql
    assert "things.status IN ('held', 'it''s')" in sql


@pytest.mark.parametrize("value", [True, 1.5, None, b"x"])
def test_anything_but_a_str_or_an_int_is_refused(value):
    with pytest.raises(TypeError, match="a constant is a str or an int"):
        constant(value)
