"""Which sign lines are worth a map look-up, and in what order."""

from gre.agent.lookups import clean_line, unmatched_lines
from gre.records import Evidence


def _ocr(*lines: tuple[str, float]) -> Evidence:
    result = {
        "lines": [
            {"text": text, "confidence": conf, "box": [0, 10 * i, 10, 10 * i + 9], "region": -1}
            for i, (text, conf) in enumerate(lines)
        ]
    }
    return Evidence(id="o1", tool="ocr", result=result)


def test_destinations_and_names_first_fragments_last_known_places_out() -> None:
    ocr = _ocr(
        ("BEREL", 87.0),
        ("RISTQ", 71.0),
        ("Pont de Fortville 3,8 km", 88.2),
        ("Névache 4,2 km", 92.0),
        ("Toutes directions", 96.0),
        ("1,3 km Lacs de Cristol", 92.2),
        ("A4 STRASBOURG", 80.0),
        ("2092 h", 94.0),
    )
    scan = Evidence(
        id="g1",
        tool="gazetteer",
        query={"mode": "scan", "text": "..."},
        result={"mentions": [{"text": "STRASBOURG", "start": 0, "end": 10, "places": []}]},
    )
    lines = unmatched_lines([ocr, scan], limit=10)
    assert lines == [
        "Lacs de Cristol",
        "Pont de Fortville",
        "Névache",
        "Toutes directions",
        "BEREL",
        "RISTQ",
    ]
    assert unmatched_lines([ocr, scan], limit=2) == ["Lacs de Cristol", "Pont de Fortville"]
    assert clean_line("6,5 km Col du Granon") == "Col du Granon"
