"""Phone numbers for ``text_clues``: international ones anywhere, national ones in context."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gre.tools.text_clues.evidence import (
    MAX_CLUES,
    MAX_TEXT_CHARS,
    MIN_SUPPORT,
    PHONE_INTERNATIONAL,
    PHONE_NATIONAL,
    CountryEvidence,
    clip,
    label_codes,
    normalise,
    overlaps,
    ranked_codes,
)
from gre.tools.text_clues.models import PhoneClue

MAX_PHONE_REGIONS = 12  # national numbers are tried in this many context countries...
MIN_NATIONAL_DIGITS = 6  # a national-format number needs this many digits (Luxembourg's
# four-digit numbers are real, but on a photo "2092" is an altitude)
PHONE_MIN_SUPPORT = 0.01  # ...with at least this support (Chinese: Taiwan is 0.016 of China)
GROUPING_MISMATCH = 0.1  # "(02) 9374 4000" is grouped as in Australia, not as in Pakistan
UNGROUPED_FACTOR = 0.4  # grouped as no region tried writes it: "20 7525 2000" is a London
# number without its trunk 0 far more often than a US one, so it says less about either
_MATCHER_TRIES = 500
# "0039 06 ..." : 00 is the international prefix of most countries; read it as "+"
_IDD_00 = re.compile(r"(?<![\d+])00(?=[1-9])")


@dataclass
class _National:
    text: str
    span: tuple[int, int]
    regions: dict[str, tuple[str, bool]]  # region -> (E.164, grouped as the region writes it)


def find_phones(
    text: str, context: Mapping[str, float]
) -> tuple[list[PhoneClue], list[CountryEvidence]]:
    """Phone numbers: international ones anywhere, national ones in the context's countries.

    A number written with its calling code (+33, 0033) names its country
    (``region_code_for_number`` tells +1 416 Canada from +1 212 the US); a
    national-format number counts for the context countries where it is valid,
    in proportion to their support, and less where its digit grouping is not
    the country's; one grouped as no region tried writes it counts less.
    """
    import phonenumbers
    from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

    text = text[:MAX_TEXT_CHARS]
    clues: list[PhoneClue] = []
    evidence: list[CountryEvidence] = []
    seen: set[str] = set()
    spans: list[tuple[int, int]] = []

    def international(start: int, end: int, number: phonenumbers.PhoneNumber) -> None:
        spans.append((start, end))
        raw = text[start:end]
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        if e164 in seen or len(clues) >= MAX_CLUES:
            return
        seen.add(e164)
        region = phonenumbers.region_code_for_number(number)
        country = region if region and region != "001" else None  # 001: +800, +882...
        clues.append(PhoneClue(text=raw, e164=e164, country_code=country, international=True))
        if country:
            reason = f"phone {clip(raw)} → {country}"
            evidence.append(CountryEvidence(reason, PHONE_INTERNATIONAL, {country: 1.0}))

    plus = _IDD_00.sub(" +", text)  # same length: spans stay those of ``text``
    for match in PhoneNumberMatcher(plus, None, leniency=Leniency.VALID, max_tries=_MATCHER_TRIES):
        start = match.start - 1 if text[match.start] == "0" else match.start  # "0039": "00"
        international(start, match.end, match.number)

    regions = [
        c
        for c, s in sorted(context.items(), key=lambda kv: (-kv[1], kv[0]))
        if s >= PHONE_MIN_SUPPORT and phonenumbers.country_code_for_region(c)
    ][:MAX_PHONE_REGIONS]
    national: dict[str, _National] = {}
    for region in regions:
        for match in PhoneNumberMatcher(
            text, region, leniency=Leniency.VALID, max_tries=_MATCHER_TRIES
        ):
            raw, start, end = match.raw_string, match.start, match.end
            if overlaps(start, end, spans):
                continue
            parsed = phonenumbers.parse(raw, region, keep_raw_input=True)
            if parsed.country_code_source in (
                phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN,
                phonenumbers.CountryCodeSource.FROM_NUMBER_WITH_IDD,
            ):
                international(start, end, match.number)
                continue
            key = phonenumbers.normalize_digits_only(raw)
            if len(key) < MIN_NATIONAL_DIGITS:
                continue  # an altitude, a year, a house number: "2092" is no phone
            if key not in national and overlaps(start, end, (n.span for n in national.values())):
                continue  # part of a number already read in a likelier country
            actual = phonenumbers.region_code_for_number(match.number)
            if actual:
                grouped = any(PhoneNumberMatcher(raw, region, leniency=Leniency.STRICT_GROUPING))
                e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
                entry = national.setdefault(key, _National(raw, (start, end), {}))
                entry.regions[actual] = (e164, grouped)
    for entry in list(national.values())[: max(0, MAX_CLUES - len(clues))]:
        dist = normalise(
            {
                c: max(context.get(c, 0.0), MIN_SUPPORT / 5)
                * (1.0 if grouped else GROUPING_MISMATCH)
                for c, (_, grouped) in entry.regions.items()
            }
        )
        ranked = ranked_codes(dist)
        e164 = entry.regions[ranked[0]][0]
        clues.append(
            PhoneClue(text=entry.text, e164=e164, country_code=ranked[0], international=False)
        )
        reason = f"phone {clip(entry.text)} (national format) → {label_codes(ranked)}"
        fits = any(grouped for _, grouped in entry.regions.values())
        if not fits:
            reason += ", grouped as none of them writes it"
        weight = PHONE_NATIONAL if fits else round(PHONE_NATIONAL * UNGROUPED_FACTOR, 4)
        evidence.append(CountryEvidence(reason, weight, dist))
    return clues, evidence
