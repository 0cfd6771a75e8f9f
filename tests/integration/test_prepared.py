"""Hot statements compiled once (app/prepared.py) and the bound database clock (app/clock.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.clock import database_now
from app.db import autocommit, table_of, transaction
from app.inventory.models import Carrier
from app.prepared import Prepared
from app.runtime import Runtime

carriers = table_of(Carrier)

ADD_CARRIER = Prepared(
    insert(carriers)
    .values(
        id=bindparam("carrier_id"),
        scac=bindparam("carrier_scac"),
        name="Prepared Line",
        adapter_kind="simulated",
        release_deadline_days=7,
        adapter_settings=bindparam("carrier_settings", type_=carriers.c.adapter_settings.type),
        created_at=bindparam("carrier_created_at", type_=carriers.c.created_at.type),
    )
    .returning(carriers.c.id, carriers.c.created_at, carriers.c.adapter_settings)
)
CARRIER_BY_SCAC = Prepared(
    select(carriers.c.id, carriers.c.created_at).where(carriers.c.scac == bindparam("carrier_scac"))
)


def carrier(scac: str) -> dict[str, object]:
    return {
        "carrier_id": uuid.uuid4(),
        "carrier_scac": scac,
        "carrier_settings": {"seed": 7},
        "carrier_created_at": datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    }


async def count_scac(runtime: Runtime, scac: str) -> int:
    async with transaction(runtime.engine, read_only=True) as conn:
        query = select(func.count()).select_from(carriers).where(carriers.c.scac == scac)
        return int((await conn.execute(query)).scalar_one())


async def test_rows_come_back_with_sqlalchemys_types(runtime: Runtime) -> None:
    values = carrier("PRP1")
    async with autocommit(runtime.engine) as conn:
        added = await ADD_CARRIER.first(conn, values)
        found = await CARRIER_BY_SCAC.fetch(conn, {"carrier_scac": "PRP1"})

    assert added is not None
    assert added.id == values["carrier_id"]
    assert added.created_at == values["carrier_created_at"]
    assert added.created_at.tzinfo is not None
    assert added.adapter_settings == {"seed": 7}
    assert [(row.id, row.created_at) for row in found] == [(added.id, added.created_at)]


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(runtime: Runtime) -> None:
    async with autocommit(runtime.engine) as conn:
        await ADD_CARRIER.fetch(conn, carrier("PRP2"))
    with pytest.raises(IntegrityError):
        async with autocommit(runtime.engine) as conn:
            await ADD_CARRIER.fetch(conn, carrier("PRP2"))
    assert await count_scac(runtime, "PRP2") == 1


async def test_inside_a_transaction_it_rolls_back_with_it(runtime: Runtime) -> None:
    """Run first in a transaction, before any other statement: on the driver's connection it
    would escape the transaction, which the driver has not begun yet."""

    class Abort(Exception):
        pass

    async def add_then_fail() -> None:
        async with transaction(runtime.engine) as conn:
            await ADD_CARRIER.fetch(conn, carrier("PRP3"))
            raise Abort

    with pytest.raises(Abort):
        await add_then_fail()
    assert await count_scac(runtime, "PRP3") == 0


async def test_a_missing_parameter_is_named(runtime: Runtime) -> None:
    if runtime.dialect != "postgresql":
        pytest.skip("SQLite runs the statement through SQLAlchemy, which names it in its own way")
    values = carrier("PRP4")
    del values["carrier_settings"]
    async with autocommit(runtime.engine) as conn:
        with pytest.raises(KeyError, match="carrier_settings"):
            await ADD_CARRIER.fetch(conn, values)


async def test_a_lost_connection_is_an_operational_error_and_is_replaced(runtime: Runtime) -> None:
    if runtime.dialect != "postgresql":
        pytest.skip("a SQLite connection is a file: nothing to lose")
    async with autocommit(runtime.engine) as conn:
        backend = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with autocommit(runtime.engine) as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(OperationalError):
            await CARRIER_BY_SCAC.fetch(conn, {"carrier_scac": "NONE"})
        assert conn.invalidated
    async with autocommit(runtime.engine) as conn:
        assert await CARRIER_BY_SCAC.fetch(conn, {"carrier_scac": "NONE"}) == []


async def test_database_now_is_the_clocks_now(runtime: Runtime) -> None:
    """Database time with its shift carried by the statement and given at execution agree,
    offset included: exactly within one PostgreSQL transaction (now() is its start), within the
    second on SQLite (now is per statement)."""
    runtime.clock.advance(3600.25)
    params = {"clock_shift": runtime.clock.shift()}
    query = select(
        runtime.clock.now_sql(runtime.dialect).label("carried"), database_now(runtime.dialect).label("given")
    )
    async with transaction(runtime.engine, read_only=True) as conn:
        row = (await conn.execute(query, params)).one()
        again = (await conn.execute(query, params)).one()

    assert row.carried == row.given
    assert (
        abs((again.given - row.given).total_seconds()) < (0 if runtime.dialect == "postgresql" else 1) + 1e-9
    )
    assert abs((row.given - datetime.now(UTC)).total_seconds() - 3600.25) < 60
