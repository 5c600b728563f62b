"""Register encoding and drive maps: pure functions, every type and word order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.config import ConfigError, load_drive_map
from controller.config.drive import DataType, Register
from controller.config.loader import CONFIG_ROOT
from controller.drive.link import Link
from controller.drive.registers import decode, encode, plan_reads, raw_to_words, words_to_raw

pytestmark = pytest.mark.fast

RANGES = {
    DataType.I16: (-0x8000, 0x7FFF),
    DataType.U16: (0, 0xFFFF),
    DataType.I32: (-0x8000_0000, 0x7FFF_FFFF),
    DataType.U32: (0, 0xFFFF_FFFF),
}


@pytest.mark.parametrize("dtype", list(RANGES))
@pytest.mark.parametrize("order", ["big", "little"])
def test_integer_round_trip_and_saturation(dtype, order):
    low, high = RANGES[dtype]

    @given(st.integers(low, high))
    def round_trip(value):
        words = raw_to_words(value, dtype, order)
        assert len(words) == dtype.words and all(0 <= w <= 0xFFFF for w in words)
        assert words_to_raw(words, dtype, order) == value

    round_trip()
    assert words_to_raw(raw_to_words(high + 10**6, dtype, order), dtype, order) == high
    assert words_to_raw(raw_to_words(low - 10**6, dtype, order), dtype, order) == low


@given(st.floats(-1e30, 1e30, allow_nan=False), st.sampled_from(["big", "little"]))
def test_float32_round_trip(value, order):
    back = words_to_raw(raw_to_words(value, DataType.F32, order), DataType.F32, order)
    assert back == pytest.approx(value, rel=1e-6)


def test_word_order_is_what_the_drive_expects():
    assert raw_to_words(0x12345678, DataType.U32, "big") == [0x1234, 0x5678]
    assert raw_to_words(0x12345678, DataType.U32, "little") == [0x5678, 0x1234]
    assert raw_to_words(-2, DataType.I16) == [0xFFFE]


def test_scaling_to_si():
    torque = Register(address=0x0341, type=DataType.I16, scale=0.001 * 1.27)
    assert encode(1.27, torque) == [1000]
    assert decode([0xFC18], torque) == pytest.approx(-1.27)
    with pytest.raises(ValueError, match="I32 needs 2 word"):
        decode([1], Register(address=0, type=DataType.I32))


def test_reads_are_grouped_into_few_requests():
    regs = [
        Register(address=a, type=t)
        for a, t in [
            (0x4001, DataType.I16),
            (0x4003, DataType.I16),
            (0x4016, DataType.I32),
            (0x4100, DataType.U16),
            (0x410A, DataType.U16),
        ]
    ]
    blocks = plan_reads(regs)
    assert [(b.start, b.count) for b in blocks] == [(0x4001, 3), (0x4016, 2), (0x4100, 11)]
    contiguous = load_drive_map("sim").feedback
    assert contiguous is not None
    assert (
        len(
            plan_reads(
                [
                    contiguous.position,
                    contiguous.velocity,
                    contiguous.torque,
                    contiguous.status,
                    contiguous.fault_code,
                ]
            )
        )
        == 1
    )


def test_every_shipped_drive_map_loads_and_says_where_its_values_come_from():
    maps = sorted((CONFIG_ROOT / "drives").glob("*.toml"))
    assert {p.stem for p in maps} >= {
        "stepperonline-a6-rs",
        "delta-asda-b2",
        "cia402-modbus",
        "odrive-ascii",
        "sim",
    }
    for path in maps:
        drive_map = load_drive_map(path)
        assert drive_map.provenance, f"{path.name} does not mark confirmed and unconfirmed values"
        assert drive_map.faults and "unknown" not in drive_map.fault_text(
            int(next(iter(drive_map.faults)), 0)
        )


def test_a_bad_drive_map_is_refused_clearly(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nprotocol = "modbus"\n[feedback]\nposition = { address = 70000 }\n')
    with pytest.raises(ConfigError) as err:
        load_drive_map(path)
    message = str(err.value)
    assert "feedback.position.address" in message and "<= 65535" in message


@pytest.mark.parametrize(
    ("text", "kind", "where", "port", "parity"),
    [
        ("tcp://127.0.0.1:502", "tcp", "127.0.0.1", 502, None),
        ("/dev/ttyUSB0", "rtu", "/dev/ttyUSB0", 502, None),
        ("rtu:///dev/pts/3?parity=N", "rtu", "/dev/pts/3", 502, "N"),
    ],
)
def test_links(text, kind, where, port, parity):
    link = Link.parse(text)
    assert (link.kind, link.address, link.port, link.parity) == (kind, where, port, parity)


@pytest.mark.parametrize("text", ["tcp://nohost", "tcp://:502", "rtu:///dev/x?baud=9600"])
def test_bad_links(text):
    with pytest.raises(ValueError, match="link"):
        Link.parse(text)
