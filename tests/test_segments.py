import pytest

from portal.messaging.segments import is_gsm7, segment_count


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),  # é is in the GSM-7 alphabet
        ("[" * 80, 1),  # extension characters count twice
        ("[" * 81, 2),
        ("á" * 70, 1),  # á is not: the message becomes UCS-2
        ("á" * 71, 2),
        ("a" * 159 + "’", 3),  # one curly quote turns 160 characters into 3 UCS-2 segments
        ("你" * 134, 2),
        ("😀" * 35, 1),  # two UTF-16 code units each
        ("😀" * 36, 2),
    ],
)
def test_segment_counts(body: str, segments: int) -> None:
    assert segment_count(body) == segments


def test_gsm7_detection() -> None:
    assert is_gsm7("PIN 4500 Main St. Call 911!")
    assert not is_gsm7("Llame al 911 si alguien está en peligro")
    assert not is_gsm7("It’s")
