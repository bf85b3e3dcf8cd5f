"""Reading coordinates from model text: every form GRE writes, what is refused, and round trips."""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gre.agent.answer import (
    STYLES,
    AnswerParseError,
    ParsedAnswer,
    extract_answer,
    format_coordinates,
    has_think_answer_format,
    parse_coordinates,
)

EIFFEL_DMS = (48 + 51 / 60 + 29.6 / 3600, 2 + 17 / 60 + 40.2 / 3600)

# text, lat, lon, form
FORMS: list[tuple[str, float, float, str]] = [
    # GRE's own answer styles
    ('"Latitude": "45.465 °", "Longitude": "9.191 °"', 45.465, 9.191, "labelled"),
    ("Latitude: 45.4, Longitude: 9.1", 45.4, 9.1, "labelled"),
    ('"Longitude" : -73.992210, "Latitude" : 40.749602', 40.749602, -73.99221, "labelled"),
    ("Latitude: 48.8584, Longitude: 2.2945", 48.8584, 2.2945, "labelled"),  # the prompt's example
    ("[40.75, -73.98]", 40.75, -73.98, "list"),
    ("40.742, -73.985", 40.742, -73.985, "pair"),
    ("(40.742, -73.985)", 40.742, -73.985, "pair"),
    # hemisphere letters, prefix or suffix, either order
    ("40.7° N, 73.9° W", 40.7, -73.9, "hemisphere"),
    ("S 33.86, E 151.21", -33.86, 151.21, "hemisphere"),
    ("33.86S 151.21E", -33.86, 151.21, "hemisphere"),
    ("S 33.86 E 151.21", -33.86, 151.21, "hemisphere"),
    ("73.9° W, 40.7° N", 40.7, -73.9, "hemisphere"),
    ("40.7 North, 74.0 West", 40.7, -74.0, "hemisphere"),
    ("Latitude/Longitude: 40.7 N, 74.0 W", 40.7, -74.0, "hemisphere"),
    # abbreviations and label spellings
    ("lat=40.7, lon=-74.0", 40.7, -74.0, "labelled"),
    ("lat: 40.7 lng: -74", 40.7, -74.0, "labelled"),
    ("Long: 2.35, Lat: 48.85", 48.85, 2.35, "labelled"),
    ("Lat. 45.4, Long. 9.1", 45.4, 9.1, "labelled"),
    ('{"lat": -22.95, "lng": -43.21}', -22.95, -43.21, "labelled"),
    ("latitude is approximately 45.4 and longitude is about 9.1", 45.4, 9.1, "labelled"),
    ("Latitude: 40.7128° N, Longitude: 74.0060° W", 40.7128, -74.006, "labelled"),
    ("Latitude: 45.4, 9.1", 45.4, 9.1, "labelled"),
    ("lat/lon: 40.7, -74.0", 40.7, -74.0, "labelled"),
    ("lon, lat = -74.0, 40.7", 40.7, -74.0, "labelled"),
    ("(lat, lng): (35.68, 139.69)", 35.68, 139.69, "labelled"),
    # unicode minus, degree signs, spaces
    ("Latitude: −33.86, Longitude: 151.21", -33.86, 151.21, "labelled"),
    ("−33.86, 151.21", -33.86, 151.21, "pair"),
    ("Latitude :  -33.86 ° ,  Longitude :  151.21 °", -33.86, 151.21, "labelled"),
    ("40.742 -73.985", 40.742, -73.985, "pair"),
    ("The photo was taken at 40.7, -74.0.", 40.7, -74.0, "pair"),
    # degrees, minutes, seconds
    ("48°51'29.6\"N 2°17'40.2\"E", *EIFFEL_DMS, "dms"),
    ("Latitude: 48°51′29.6″ N, Longitude: 2°17′40.2″ E", *EIFFEL_DMS, "labelled"),
    ("33°52′S 151°12′E", -(33 + 52 / 60), 151.2, "dms"),
    ("Lat 40° 44′ 54″ N, Lon 73° 59′ 9″ W", 40.748333333333335, -73.98583333333333, "labelled"),
    ('{"lat": "48°51\'29.6\\"N", "lon": "2°17\'40.2\\"E"}', *EIFFEL_DMS, "labelled"),  # JSON
    # edges of the range
    ("Latitude: -90, Longitude: 180", -90.0, 180.0, "labelled"),
    ("90, -180", 90.0, -180.0, "pair"),
]


@pytest.mark.parametrize(("text", "lat", "lon", "form"), FORMS)
def test_every_known_form_parses(text: str, lat: float, lon: float, form: str) -> None:
    parsed = parse_coordinates(text)
    assert parsed.lat == pytest.approx(lat, abs=1e-9)
    assert parsed.lon == pytest.approx(lon, abs=1e-9)
    assert parsed.form == form


@pytest.mark.parametrize(("text", "lat", "lon", "form"), FORMS)
def test_forms_parse_inside_a_full_reply(text: str, lat: float, lon: float, form: str) -> None:
    reply = f"<think>It could be 1.5, 2.5 or Lat: 10, Lon: 20.</think>\n<answer>{text}</answer>"
    parsed = parse_coordinates(reply)
    assert (parsed.lat, parsed.lon) == pytest.approx((lat, lon), abs=1e-9)


GRE_EXAMPLES = [
    # the released reward code's example output
    (
        '<think> … </think> <answer> "Longitude" : -73.992210, "Latitude" : 40.749602 </answer>',
        40.749602,
        -73.99221,
    ),
    # the paper's answer style: reasoning over scene, details, semantics, then quoted degrees
    (
        "<think>Step 1 (scene): temperate climate, plane trees. Step 2 (details): Italian signs, "
        "a tram line. Step 3 (semantics): the Galleria near the Duomo, so Milan.</think>\n"
        '<answer>"Latitude": "45.465 °", "Longitude": "9.191 °"</answer>',
        45.465,
        9.191,
    ),
    (
        "<think>Yellow cabs, Empire State Building in view.</think><answer>[40.7484, -73.9857]"
        "</answer>",
        40.7484,
        -73.9857,
    ),
]


@pytest.mark.parametrize(("reply", "lat", "lon"), GRE_EXAMPLES)
def test_gre_examples_latitude_is_latitude(reply: str, lat: float, lon: float) -> None:
    # GRE's reward code unpacks `lon, lat = parse(...)`; here latitude stays latitude
    parsed = parse_coordinates(reply)
    assert (parsed.lat, parsed.lon) == (lat, lon)
    assert has_think_answer_format(reply)


REJECTED = [
    ("Latitude: 95, Longitude: 10", "latitude 95 is out of range"),
    ("Latitude: 45, Longitude: 190.5", "longitude 190.5 is out of range"),
    ("120.5, 30.2", "latitude 120.5 is out of range"),  # not swapped into 30.2, 120.5
    ("[120.5, 30.2]", "out of range"),
    ("95 N, 10 E", "latitude 95 is out of range"),
    ("Latitude: nan, Longitude: 10", "non-finite"),
    ("Latitude: inf, Longitude: 2", "non-finite"),
    ("NaN, NaN", "non-finite"),
    ("Somewhere in northern Italy, probably Milan.", "no coordinates"),
    ("", "empty"),
    ("<think>40.7, -74.0</think><answer></answer>", "empty"),
    ("<think>40.7, -74.0</think><answer>New York City</answer>", "no coordinates"),
    ("Latitude: 45.4", "no longitude"),
    ("Longitude: 9.1", "no latitude"),
    ("Latitude: 40.7 W, Longitude: 10", "latitude given with hemisphere W"),
    ("40 N, 50 S", "both numbers are latitudes"),
    ("10 E, 20 W", "both numbers are longitudes"),
    ("lat: 10, lat: 20" + " lon/lon: 1, 2", "two longitude labels"),
    ("48.5°30' N, 2 E", "whole"),
    ("48°75' N, 2 E", "minutes"),
    ("1,234,567", "no coordinates"),
]


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_rejected(text: str, why: str) -> None:
    with pytest.raises(AnswerParseError, match=why) as info:
        parse_coordinates(text)
    assert "\n" not in str(info.value)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(AnswerParseError, ValueError)


def test_answer_tag_wins_over_reasoning() -> None:
    reply = "<think>Not Paris (48.85, 2.35); Lyon.</think><answer>45.76, 4.84</answer>"
    assert parse_coordinates(reply) == ParsedAnswer(lat=45.76, lon=4.84, form="pair")


def test_without_answer_tags_the_reasoning_is_skipped() -> None:
    assert (parse_coordinates("<think>maybe 48.85, 2.35</think> 45.76, 4.84").lat) == 45.76
    # an unclosed think (a truncated reply) is all there is: it is read as it stands
    assert parse_coordinates("<think>I think it is 45.76, 4.84 and").lat == 45.76
    with pytest.raises(AnswerParseError):
        parse_coordinates("<think>maybe 48.85, 2.35</think> I cannot tell.")


def test_first_valid_unlabelled_pair_counts() -> None:
    assert parse_coordinates("Answer: 45.76, 4.84 (or 48.85, 2.35)").lat == 45.76
    assert parse_coordinates("In 2019, more than 40.7, -74.0").lat == 40.7


def test_labels_beat_hemisphere_and_pairs() -> None:
    text = "Longitude: 4.84, Latitude: 45.76 (compare 10 N, 20 E and 1.0, 2.0)"
    assert parse_coordinates(text) == ParsedAnswer(lat=45.76, lon=4.84, form="labelled")


def test_hemisphere_letter_decides_the_sign() -> None:
    assert parse_coordinates("-33.86 S, -151.21 E").lon == 151.21
    assert parse_coordinates("Latitude: 33.86 S, Longitude: 151.21 E").lat == -33.86


# --- tags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<answer>1, 2</answer>", "1, 2"),
        ("<think>x</think><answer>  1, 2 \n</answer>", "1, 2"),
        ("<answer>1</answer> and then <answer>2</answer>", "2"),
        ("<answer>outer <answer>inner</answer></answer>", "inner"),
        ("<answer>unclosed <answer>closed</answer>", "closed"),
        ("<ANSWER>shouted</ANSWER>", "shouted"),
        ("<answer></answer>", ""),
        ("<answer>multi\nline</answer>", "multi\nline"),
        ("no tags at all", None),
        ("<answer>never closed", None),
        ("</answer>backwards<answer>", None),
        ("<think>only thinking</think>", None),
    ],
)
def test_extract_answer(text: str, expected: str | None) -> None:
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<think>x</think><answer>1, 2</answer>", True),
        ("  <think>\nreasoning\n</think>\n\n<answer> 1, 2 </answer>\n", True),
        ("<think>x</think>", False),
        ("<answer>1, 2</answer>", False),
        ("<think></think><answer>1, 2</answer>", False),  # empty think
        ("<think>  \n </think><answer>1, 2</answer>", False),
        ("<think>x</think><answer> </answer>", False),  # empty answer
        ("<answer>1, 2</answer><think>x</think>", False),  # wrong order
        ("preamble <think>x</think><answer>1, 2</answer>", False),
        ("<think>x</think><answer>1, 2</answer> trailer", False),
        ("<think>x</think> between <answer>1, 2</answer>", False),
        ("<think>x</think><answer>1</answer><answer>2</answer>", False),  # two answers
        ("<think>x <think>y</think></think><answer>1, 2</answer>", False),  # nested think
        ("<think>x</think><answer><answer>1</answer></answer>", False),  # nested answer
        ("<think>x<answer>1</answer></think><answer>1, 2</answer>", False),
        ("<THINK>x</THINK><ANSWER>1, 2</ANSWER>", False),  # the prompt asks for lowercase
    ],
)
def test_has_think_answer_format(text: str, ok: bool) -> None:
    assert has_think_answer_format(text) is ok


# --- formatting and round trips ---------------------------------------------------------------


def test_format_styles() -> None:
    assert format_coordinates(45.465, 9.191) == "Latitude: 45.465, Longitude: 9.191"
    assert format_coordinates(45.465, 9.191, "quoted") == (
        '"Latitude": "45.465 °", "Longitude": "9.191 °"'
    )
    assert format_coordinates(45.465, 9.191, "list") == "[45.465, 9.191]"
    assert format_coordinates(45.465, 9.191, "pair") == "45.465, 9.191"
    assert format_coordinates(45.465, 9.191, "hemisphere") == "45.465° N, 9.191° E"
    assert format_coordinates(-33.86, -70.6, "hemisphere") == "33.86° S, 70.6° W"
    assert format_coordinates(1e-7, -4.5e-5, "pair") == "0.0000001, -0.000045"  # no exponents
    with pytest.raises(ValueError, match="unknown style"):
        format_coordinates(0, 0, "wkt")
    with pytest.raises(ValueError, match="out of range"):
        format_coordinates(91, 0)
    with pytest.raises(ValueError, match="out of range"):
        format_coordinates(0, float("nan"))


LATS = st.floats(min_value=-90, max_value=90, allow_nan=False)
LONS = st.floats(min_value=-180, max_value=180, allow_nan=False)


@given(lat=LATS, lon=LONS, style=st.sampled_from(STYLES))
def test_round_trip(lat: float, lon: float, style: str) -> None:
    text = format_coordinates(lat, lon, style)
    for candidate in (text, f"<think>x</think><answer>{text}</answer>"):
        parsed = parse_coordinates(candidate)
        assert abs(parsed.lat - lat) <= 1e-9
        assert abs(parsed.lon - lon) <= 1e-9


@given(lat=LATS, lon=LONS, style=st.sampled_from(STYLES))
def test_round_trip_is_exact_and_formatted_replies_are_well_formed(
    lat: float, lon: float, style: str
) -> None:
    reply = f"<think>reasoning</think>\n<answer>{format_coordinates(lat, lon, style)}</answer>"
    parsed = parse_coordinates(reply)
    assert (parsed.lat, parsed.lon) == (lat, lon)
    assert has_think_answer_format(reply)


@given(
    lat=st.floats(min_value=-90, max_value=90, allow_nan=False),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)
def test_labels_decide_whatever_the_order(lat: float, lon: float) -> None:
    lat_s, lon_s = format_coordinates(lat, lon, "pair").split(", ")
    parsed = parse_coordinates(f"Longitude: {lon_s}, Latitude: {lat_s}")
    assert (parsed.lat, parsed.lon) == (lat, lon)


@given(
    lat=st.floats(allow_nan=False).filter(lambda v: abs(v) > 90),
    lon=st.floats(min_value=-180, max_value=180, allow_nan=False),
)
def test_out_of_range_latitude_is_never_accepted(lat: float, lon: float) -> None:
    with pytest.raises(AnswerParseError, match=r"latitude|non-finite"):
        parse_coordinates(f"Latitude: {lat!r}, Longitude: {lon!r}")  # repr: 1e+100, inf


@given(text=st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_cleanly(text: str) -> None:
    try:
        parsed = parse_coordinates(text)
    except AnswerParseError as exc:
        assert "\n" not in str(exc)
    else:
        assert -90 <= parsed.lat <= 90 and -180 <= parsed.lon <= 180


ADVERSARIAL = [
    "1" + " " * 50_000 + "x",
    "lat/lon " * 10_000,
    "Latitude " * 10_000,
    "40.7" + "\n" * 50_000 + ",",
    "1, " * 20_000,
    "1° 2' " * 10_000,
    "<think>" * 10_000,
    "<answer>" * 10_000,
    "<think>" + "</think><answer></answer>" * 4_000,
]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_long_degenerate_replies_are_fast(text: str) -> None:
    t0 = time.perf_counter()
    with contextlib.suppress(AnswerParseError):
        parse_coordinates(text)
    extract_answer(text)
    has_think_answer_format(text)
    assert time.perf_counter() - t0 < 2.0
