"""Coordinates in a model's free-text answer: extraction, parsing and formatting.

GRE's single-pass protocol ends with ``<answer>…</answer>`` holding a location in
decimal degrees, in whatever form the model chose. :func:`parse_coordinates`
reads the forms models are known to write and is strict about everything else:

1. **Labelled** values (``Latitude: 45.4``, ``"lng": -73.9``, ``lat=…``,
   ``lat/lon: 40.7, -74.0``): the labels decide which number is which, never
   the order. A single labelled value takes an adjacent unlabelled number as
   the other axis.
2. **Hemisphere** letters (``40.7° N, 73.9° W``, ``S 33.86, E 151.21``,
   DMS ``48°51'29.6"N 2°17'40.2"E``): N/S marks the latitude and E/W the
   longitude, in either order; S and W make the value negative (the letter
   decides the sign, whatever sign the number carries).
3. **Unlabelled** pairs (``40.742, -73.985``, ``(…)``, ``[…]``): latitude first.
   The first pair in range wins; when none is, the first pair's problem is the
   error. Numbers are never swapped to make a pair fit.

Out-of-range and non-finite values are rejected, never clamped. Given a whole
reply, only the last complete ``<answer>`` is read; without one, the text after
the last ``</think>`` (all of it when no think block was closed).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gre.errors import GreError
from gre.geo import valid_latlon

Axis = Literal["lat", "lon"]
STYLES = ("labelled", "quoted", "list", "pair", "hemisphere")


class ParsedAnswer(BaseModel):
    """A point read from text, and the form it was written in."""

    model_config = ConfigDict(frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    form: str = Field(description="labelled, hemisphere, dms, list or pair")


class AnswerParseError(GreError, ValueError):
    """No valid coordinates in the text; the message says why in one line."""


# --- <think>/<answer> tags ---------------------------------------------------------------------

_ANSWER = re.compile(r"<answer>((?:(?!<answer>).)*?)</answer>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?(?:think|answer)>", re.IGNORECASE)
_THINK_END = "</think>"


def extract_answer(text: str) -> str | None:
    """The content of the last complete ``<answer>…</answer>`` (stripped), else None.

    Tags are matched case-insensitively; with nested tags the innermost complete
    answer counts, so an unclosed outer ``<answer>`` is ignored.
    """
    found = _ANSWER.findall(text)
    return str(found[-1]).strip() if found else None


def has_think_answer_format(text: str) -> bool:
    """True for exactly ``<think>…</think>`` then ``<answer>…</answer>``, both non-empty.

    Whitespace may surround the blocks; nothing else may, and neither block may
    contain another think or answer tag. Tags must be lowercase, as prompted.
    """
    body = text.strip()
    tags = [t.group(0) for t in _TAG.finditer(body)]
    if tags != ["<think>", "</think>", "<answer>", "</answer>"]:
        return False
    if not (body.startswith("<think>") and body.endswith("</answer>")):
        return False
    think, _, rest = body[len("<think>") : -len("</answer>")].partition("</think>")
    rest = rest.lstrip()
    if not rest.startswith("<answer>"):
        return False
    return bool(think.strip()) and bool(rest[len("<answer>") :].strip())


# --- coordinate grammar ------------------------------------------------------------------------

_NUM = r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?(?!\.?\d)"
_DEG_MARK = r"(?:°|º|˚|deg(?:rees?)?(?![A-Za-z]))"
_MIN_MARK = r"(?:'|′|’)"
_SEC_MARK = r"(?:\\?\"|″|”|''|′′|’’)"
_HEM = r"(?:[NSEW]|(?i:north|south|east|west))(?![A-Za-z\d])"
_APPROX = r"(?:(?:~|≈|(?i:approx(?:imately|\.)?|about|around|roughly|circa|ca\.))\s*)?"


def _body(tag: str) -> str:
    """A number in decimal degrees or DMS, its groups suffixed with ``tag``."""
    return (
        rf"(?P<sign{tag}>[-+])?(?P<deg{tag}>{_NUM})"
        rf"(?:\s*(?P<mark{tag}>{_DEG_MARK}))?"
        rf"(?:\s*(?<=[°º˚\s])(?P<min{tag}>{_NUM})\s*{_MIN_MARK}"
        rf"(?:\s*(?P<sec{tag}>{_NUM})\s*{_SEC_MARK})?)?"
    )


_TOKEN = re.compile(rf"(?:(?<![A-Za-z])(?P<pre>{_HEM})\s*)?{_body('')}(?:\s*(?P<post>{_HEM}))?")
_PAIR_SEP = r"\s*[,;]\s*"
_SEP = re.compile(_PAIR_SEP)
_HEM_SEP = r"\s*[,;/]?\s*"
_HEM_PREFIX = re.compile(
    rf"(?<![A-Za-z])(?P<h1>{_HEM})\s*{_body('1')}{_HEM_SEP}(?P<h2>{_HEM})\s*{_body('2')}"
)
_HEM_SUFFIX = re.compile(
    rf"(?<![\w.]){_body('1')}\s*(?P<h1>{_HEM}){_HEM_SEP}{_body('2')}\s*(?P<h2>{_HEM})"
)
_PAIR = re.compile(
    rf"(?<![\w.,-])(?P<open>[\[(])?\s*{_body('1')}(?P<sep>{_PAIR_SEP}|\s+){_body('2')}"
    rf"(?!\s*{_HEM})(?!\w|[.,]\d)\s*(?P<close>[\])])?"
)
_LAT_WORD = r"(?:latitude|lat)"
_LON_WORD = r"(?:longitude|long|lng|lon)"
_LABEL_SEP = r"\.?[\"']?\s*(?:\((?:deg|degrees|°)\)\s*)?(?:[:=]|\bis\b)?\s*[\"']?\s*" + _APPROX
_LABEL = re.compile(
    rf"(?<![A-Za-z])(?P<word>{_LAT_WORD}|{_LON_WORD})(?![A-Za-z]){_LABEL_SEP}", re.IGNORECASE
)
_LAT_LABEL = re.compile(rf"{_LAT_WORD}\Z", re.IGNORECASE)
_COMBINED_LABEL = (
    rf"(?<![A-Za-z])[(\[]?\s*(?P<first>{_LAT_WORD}|{_LON_WORD})\s*(?:/|,|&|\band\b)\s*"
    rf"(?P<second>{_LAT_WORD}|{_LON_WORD})(?![A-Za-z])\s*[)\]]?"
)
_COMBINED_WORDS = re.compile(_COMBINED_LABEL, re.IGNORECASE)
_COMBINED = re.compile(
    rf"{_COMBINED_LABEL}\s*(?:[:=]|\bis\b)?\s*{_APPROX}[\[(]?\s*{_body('1')}{_PAIR_SEP}{_body('2')}",
    re.IGNORECASE,
)
_NON_FINITE = re.compile(r"(?<![A-Za-z])(?:nan|inf|infinity)(?![A-Za-z])", re.IGNORECASE)
_MINUS = str.maketrans({"\u2212": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACES = re.compile(r"\s+")
_EN_DASH = re.compile(r"(?<![\d.])\u2013(?=\d)")

_AXIS_NAME = {"lat": "latitude", "lon": "longitude"}
_LIMIT = {"lat": 90.0, "lon": 180.0}
_HEM_AXIS: dict[str, Axis] = {"N": "lat", "S": "lat", "E": "lon", "W": "lon"}


def _hem_letter(word: str | None) -> str | None:
    return word[0].upper() if word else None


def _degrees(m: re.Match[str], tag: str) -> float:
    """The unsigned value in degrees of the number whose groups end with ``tag``."""
    deg, minutes, seconds = m.group(f"deg{tag}"), m.group(f"min{tag}"), m.group(f"sec{tag}")
    value = float(deg)
    if minutes is None:
        return value
    if "." in deg:
        raise AnswerParseError(f"degrees with minutes must be whole: {m.group(0).strip()!r}")
    mins = float(minutes)
    secs = float(seconds) if seconds is not None else 0.0
    if mins >= 60 or secs >= 60 or (seconds is not None and "." in minutes):
        raise AnswerParseError(f"invalid minutes or seconds in {m.group(0).strip()!r}")
    return value + mins / 60.0 + secs / 3600.0


def _signed(m: re.Match[str], tag: str, letter: str | None) -> float:
    """The value with its sign: a hemisphere letter decides it, else the number's own sign."""
    value = _degrees(m, tag)
    if letter is not None:
        return -value if letter in "SW" else value
    return -value if m.group(f"sign{tag}") == "-" else value


def _checked(axis: Axis, value: float) -> float:
    if not math.isfinite(value):
        raise AnswerParseError(f"{_AXIS_NAME[axis]} is not a finite number")
    if abs(value) > _LIMIT[axis]:
        limit = _LIMIT[axis]
        raise AnswerParseError(
            f"{_AXIS_NAME[axis]} {value:g} is out of range [{-limit:g}, {limit:g}]"
        )
    return value


def _result(lat: float, lon: float, form: str) -> ParsedAnswer:
    lat, lon = _checked("lat", lat), _checked("lon", lon)
    return ParsedAnswer(lat=lat, lon=lon, form=form)


def _minutes_used(m: re.Match[str]) -> bool:
    return any(m.group(f"min{t}") is not None for t in ("1", "2"))


# --- strategies --------------------------------------------------------------------------------


class _Incomplete(AnswerParseError):
    """One axis is labelled and the other is missing: other forms may still match."""


def _labelled_pair(text: str) -> ParsedAnswer | None:
    """``lat/lon: a, b`` (or ``lon, lat = …``): the order the labels give."""
    m = _COMBINED.search(text)
    if m is None:
        return None
    first: Axis = "lat" if _LAT_LABEL.match(m.group("first")) else "lon"
    second: Axis = "lat" if _LAT_LABEL.match(m.group("second")) else "lon"
    if first == second:
        raise AnswerParseError(f"two {_AXIS_NAME[first]} labels in {m.group(0).strip()!r}")
    values = {first: _signed(m, "1", None), second: _signed(m, "2", None)}
    return _result(values["lat"], values["lon"], "labelled")


def _token_value(axis: Axis, tok: re.Match[str]) -> float:
    pre, post = _hem_letter(tok.group("pre")), _hem_letter(tok.group("post"))
    if pre and post and pre != post:
        raise AnswerParseError(f"two hemispheres in {tok.group(0).strip()!r}")
    letter = pre or post
    if letter is not None and _HEM_AXIS[letter] != axis:
        raise AnswerParseError(f"{_AXIS_NAME[axis]} given with hemisphere {letter}")
    return _signed(tok, "", letter)


def _labelled(text: str) -> ParsedAnswer | None:
    """``Latitude: …, Longitude: …`` in either order; the labels decide.

    A single labelled value takes the number right after it (``, …``) as the
    other axis; with no such number it raises :class:`_Incomplete`.
    """
    found: dict[Axis, tuple[float, re.Match[str]]] = {}
    for label in _LABEL.finditer(text):
        axis: Axis = "lat" if _LAT_LABEL.match(label.group("word")) else "lon"
        tok = _TOKEN.match(text, label.end())
        if axis not in found and tok is not None:
            found[axis] = (_token_value(axis, tok), tok)
    if not found:
        return None
    if len(found) == 2:
        return _result(found["lat"][0], found["lon"][0], "labelled")
    ((axis, (value, tok)),) = found.items()
    other: Axis = "lon" if axis == "lat" else "lat"
    sep = _SEP.match(text, tok.end())
    partner = _TOKEN.match(text, sep.end()) if sep else None
    if partner is None:
        raise _Incomplete(f"a {_AXIS_NAME[axis]} is given but no {_AXIS_NAME[other]}")
    values = {axis: value, other: _token_value(other, partner)}
    return _result(values["lat"], values["lon"], "labelled")


def _hemisphere(text: str) -> ParsedAnswer | None:
    """Two numbers each with a hemisphere letter (prefix or suffix), in either order."""
    hits = [m for m in (_HEM_PREFIX.search(text), _HEM_SUFFIX.search(text)) if m is not None]
    if not hits:
        return None
    m = min(hits, key=lambda h: h.start())
    h1, h2 = m.group("h1")[0].upper(), m.group("h2")[0].upper()
    if _HEM_AXIS[h1] == _HEM_AXIS[h2]:
        raise AnswerParseError(f"both numbers are {_AXIS_NAME[_HEM_AXIS[h1]]}s: {m.group(0)!r}")
    values = {_HEM_AXIS[h1]: _signed(m, "1", h1), _HEM_AXIS[h2]: _signed(m, "2", h2)}
    return _result(values["lat"], values["lon"], "dms" if _minutes_used(m) else "hemisphere")


def _pair(text: str) -> ParsedAnswer | None:
    """An unlabelled pair, latitude first: the first one in range."""
    first_error: AnswerParseError | None = None
    for m in _PAIR.finditer(text):
        if not m.group("sep").strip() and not ("." in m.group("deg1") and "." in m.group("deg2")):
            continue  # a space alone separates a pair only when both numbers are decimals
        form = "list" if m.group("open") == "[" else "pair"
        try:
            return _result(_signed(m, "1", None), _signed(m, "2", None), form)
        except AnswerParseError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return None


def _normalise(text: str) -> str:
    """Minus signs made ASCII, whitespace runs made one space (keeps every regex linear)."""
    return _SPACES.sub(" ", _EN_DASH.sub("-", text.translate(_MINUS))).strip()


def _answer_span(text: str) -> str:
    """The ``<answer>`` content if any; else what follows the last ``</think>``, or all."""
    answer = extract_answer(text)
    if answer is not None:
        return answer
    end = text.lower().rfind(_THINK_END)
    return text[end + len(_THINK_END) :] if end >= 0 else text


def parse_coordinates(text: str) -> ParsedAnswer:
    """The point in ``text`` (a full model reply or just its answer); raises AnswerParseError."""
    span = _normalise(_answer_span(text))
    if not span:
        raise AnswerParseError("the answer is empty")
    parsed = _labelled_pair(span)
    if parsed is not None:
        return parsed
    # a "lat/lon" label whose values did not fit: its words must not pass for single labels
    span = _SPACES.sub(" ", _COMBINED_WORDS.sub(" ", span))
    incomplete: _Incomplete | None = None
    try:
        parsed = _labelled(span)
    except _Incomplete as exc:
        incomplete = exc
    parsed = parsed or _hemisphere(span) or _pair(span)
    if parsed is not None:
        return parsed
    if _NON_FINITE.search(span):
        raise AnswerParseError("the answer holds a non-finite number")
    if incomplete is not None:
        raise incomplete
    snippet = " ".join(span.split())
    if len(snippet) > 80:
        snippet = snippet[:77] + "..."
    raise AnswerParseError(f"no coordinates found in {snippet!r}")


# --- formatting --------------------------------------------------------------------------------


def _num(value: float) -> str:
    """Shortest round-tripping decimal, never in exponent notation."""
    return format(Decimal(repr(float(value))), "f")


def format_coordinates(lat: float, lon: float, style: str = "labelled") -> str:
    """``lat, lon`` written in one of :data:`STYLES`; every style parses back exactly."""
    if not valid_latlon(lat, lon):
        raise ValueError(f"coordinates out of range: {lat}, {lon}")
    if style == "labelled":
        return f"Latitude: {_num(lat)}, Longitude: {_num(lon)}"
    if style == "quoted":
        return f'"Latitude": "{_num(lat)} °", "Longitude": "{_num(lon)} °"'
    if style == "list":
        return f"[{_num(lat)}, {_num(lon)}]"
    if style == "pair":
        return f"{_num(lat)}, {_num(lon)}"
    if style == "hemisphere":
        ns = "S" if math.copysign(1.0, lat) < 0 and lat != 0 else "N"
        ew = "W" if math.copysign(1.0, lon) < 0 and lon != 0 else "E"
        return f"{_num(abs(lat))}° {ns}, {_num(abs(lon))}° {ew}"
    raise ValueError(f"unknown style {style!r}; known: {', '.join(STYLES)}")
