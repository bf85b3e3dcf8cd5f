"""Every built-in tool keeps the contract that plugin authors test against."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from gre.testing.tool_contract import ContractError, check_tool
from gre.tools.base import Tool, ToolOutput, ToolRegistry

REPO = Path(__file__).resolve().parents[2]


def _sign(tmp: Path) -> str:
    spec = importlib.util.spec_from_file_location("make_sign", REPO / "examples" / "make_sign.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.make_sign(tmp / "sign.jpg"))


def _cases(shared: Path, tmp: Path) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    photo = str(shared / "images/exif/exifsamples_arezzo_DSCN0010.jpg")
    return {
        "exif": ([{"path": photo}], [{}, {"path": str(tmp / "missing.jpg")}]),
        "ocr": ([{"path": _sign(tmp)}], [{}, {"path": str(tmp / "missing.jpg")}]),
        "text_clues": (
            [{"text": "Boulangerie du centre, ouvert tous les jours"}, {"text": ""}],
            [{"text": None}],
        ),
        "gazetteer": (
            [
                {"mode": "lookup", "name": "Arezzo"},
                {"mode": "scan", "text": "STRASBOURG\nCentre ville"},
                {"mode": "reverse", "lat": 43.46, "lon": 11.88},
                {"mode": "country", "country_code": "IT"},
            ],
            [{"mode": "lookup"}, {"mode": "reverse", "lat": 95, "lon": 0}],
        ),
    }


@pytest.mark.parametrize("name", ["exif", "ocr", "text_clues", "gazetteer"])
def test_builtin_keeps_the_contract(
    name: str, shared_data: Path, session_cache: Path, tmp_path: Path
) -> None:
    valid, invalid = _cases(shared_data, tmp_path)[name]
    cls = ToolRegistry.discover().get(name).cls
    calls = check_tool(cls, valid=valid, invalid=invalid, cache_dir=session_cache)
    assert len(calls) == len(valid) + len(invalid)


class _EchoIn(BaseModel):
    text: str


class _EchoOut(ToolOutput):
    text: str

    def summary(self) -> str:
        return self.text


class _Multiline(Tool[_EchoIn, _EchoOut]):
    name: ClassVar[str] = "multiline"
    description: ClassVar[str] = "Echo the text back, summary and all."
    input_model: ClassVar[type[BaseModel]] = _EchoIn
    output_model: ClassVar[type[BaseModel]] = _EchoOut

    def run(self, params: _EchoIn) -> _EchoOut:
        return _EchoOut(text=params.text)


class _Web(_Multiline):
    name: ClassVar[str] = "web"
    needs_network: ClassVar[bool] = True


def test_the_kit_catches_breaches(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="one line"):
        check_tool(_Multiline, valid=[{"text": "a\nb"}], cache_dir=tmp_path)
    with pytest.raises(ContractError, match="was accepted"):
        check_tool(_Multiline, valid=[{"text": "a"}], invalid=[{"text": "b"}], cache_dir=tmp_path)
    calls = check_tool(_Web, valid=[{"text": "a"}], cache_dir=tmp_path)
    assert calls[0].ok
