"""What the text line takes for a place, and what it never does (DESIGN.md, SMS texts).

Each expectation is the texter's own words for the place; None: not a place.
"""

from __future__ import annotations

import pytest

from portal.sms.places import find_place

# A few of the region's streets, as an agency file lists them.
STREETS = (
    "Grand",
    "Olive",
    "Gravois",
    "Chippewa",
    "Kingshighway",
    "Jefferson",
    "Delor",
    "غراند",
    "أوليف",
    "格兰德",
)


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("812 Olive St", "812 Olive St"),
        ("PIN 812 Olive St", "812 Olive St"),
        ("PIN: 4500 Main St", "4500 Main St"),
        ("3700 Lindell Blvd, 2nd floor", "3700 Lindell Blvd, 2nd floor"),
        ("my brother needs a CIT officer at 2901 Cherokee St", "2901 Cherokee St"),
        ("3900 S Grand Blvd", "3900 S Grand Blvd"),
        ("4500 lindell", "4500 lindell"),
        ("apt 4 at 1200 market", "1200 market"),
        ("7 Oak St", "7 Oak St"),
        ("٣٣٠٠ شارع غرافوا", "٣٣٠٠ شارع غرافوا"),
        ("１２００ Market St", "１２００ Market St"),
        ("Kingshighway and Chippewa", "Kingshighway and Chippewa"),
        ("grand & olive", "grand & olive"),
        ("Cherokee y Jefferson", "Cherokee y Jefferson"),
        ("kod Gravois i Delor", "Gravois i Delor"),
        ("ở góc Grand và Olive", "Grand và Olive"),
        ("غراند و أوليف", "غراند و أوليف"),
        ("عند تقاطع غراند وأوليف", "غراند وأوليف"),
        ("Grand和Olive", "Grand和Olive"),
        ("在格兰德和奥利弗路口", "格兰德和奥利弗路口"),
        ("他在Grand大道3600号", "Grand大道3600号"),
        ("we are at Kingsbury and Hanley", "Kingsbury and Hanley"),
        ("the Walgreens on Grand", "Walgreens on Grand"),
        ("QuikTrip on Gravois", "QuikTrip on Gravois"),
        ("in front of the library on Olive St", "library on Olive St"),
    ],
)
def test_a_place_is_found_in_the_texters_words(text: str, place: str) -> None:
    assert find_place(text, STREETS) == place


@pytest.mark.parametrize(
    "text",
    [
        "what is this?",
        "who is this?",
        "he is talking about hurting himself",
        "my son is hearing voices and wont stop yelling",
        "my son hears voices and wont stop",
        "crying and yelling",
        "mom and dad",
        "he took 30 pills",
        "hes been up for 3 days",
        "he is 25 and wont eat",
        "she has 2 kids and 1 dog",
        "call me at 314 555 0199",
        "call me at 314-555-0177, please",
        "i am at 7 oak",
        "he is on his phone",
        "he is on meds",
        "we are at the walgreens parking lot",
        "What About Work And School?",
        "on place i lupa glavom",
        "mi hijo y mi hija estan llorando",
        "زوجي يصرخ و يبكي منذ الصباح",
        "عند الباب و تبكي",
        "我需要帮助和支持",
        "他在房间里和他爸爸吵架",
        "我和我妈妈",
        "PIN",
        "¡Ayuda!",
    ],
)
def test_a_question_or_a_description_is_not_a_place(text: str) -> None:
    assert find_place(text, STREETS) is None
