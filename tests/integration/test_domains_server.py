"""The domains LabBook checks before a write agree with the server: each value
:func:`~pipeline_core.datamodel.values.encode_for_write` refuses, MariaDB in strict mode
refuses too (and each value it accepts, the server stores), column by column."""

from __future__ import annotations

import pymysql
import pytest

from pipeline_core import datamodel as dm
from pipeline_core.datamodel.errors import InvalidValueError
from pipeline_core.datamodel.values import encode_for_write

pytestmark = pytest.mark.integration

VALUES = {
    "i8": [-128, 127, -129, 128],
    "u16": [0, 65535, -1, 65536],
    "i16": [-32768, 32767, 40000],
    "f32": [3.4e38, -3.4e38, 3.5e38],
    "d52": ["999.99", "-999.99", "1000", "12345.6"],
    "v3": ["abc", "äöü", "abcd"],
    "e": ["hit", "miss", "maybe"],
    "t": ["838:59:59", "9:05", "839:00:00"],
}


@pytest.fixture(scope="module")
def table(dm_conn, pipeline_prefix):
    schema = dm.Schema(pipeline_prefix + "domains", connection=dm_conn)

    @schema
    class Domain(dm.Manual):
        definition = """
        id: int32
        ---
        i8=null: int8
        u16=null: smallint unsigned
        i16=null: int16
        f32=null: float32
        d52=null: decimal(5,2)
        v3=null: varchar(3)
        e=null: enum('hit', 'miss')
        t=null: time
        """

    return Domain


def server_accepts(dj_params, table, column: str, value) -> bool:
    conn = pymysql.connect(
        host=dj_params["host"],
        port=int(dj_params["port"]),
        user=dj_params["user"],
        password=dj_params["password"],
        charset="utf8mb4",
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
            cursor.execute(
                f"INSERT INTO {table.full_table_name} (id, `{column}`) VALUES (1, %s)", [value]
            )
        return True
    except pymysql.err.MySQLError:
        return False
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.parametrize("column", sorted(VALUES))
def test_labbook_refuses_exactly_what_the_server_refuses(table, dj_params, column):
    attr = table.heading[column]
    for value in VALUES[column]:
        refusal = None
        try:
            encode_for_write(attr, value, table.full_table_name)
        except InvalidValueError as exc:
            refusal = exc
        assert (refusal is None) == server_accepts(dj_params, table, column, value), (column, value)
        if refusal is not None:
            assert refusal.attribute == column and table.full_table_name in str(refusal)
