"""The process-wide network guard of a `gre` process (GRE_NETWORK_GUARD=loopback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

GRE = Path(sys.executable).with_name("gre")
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def _gre(args: list[str], cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRE_")}
    config = cache / "empty-config.toml"
    config.write_text("")
    base.update({"GRE_CACHE_DIR": str(cache), "GRE_CONFIG": str(config), **env})
    return subprocess.run(
        [str(GRE), *args], capture_output=True, text=True, env=base, timeout=300, check=False
    )


def test_offline_locate_makes_no_connection_beyond_loopback(
    tmp_path: Path, session_cache: Path
) -> None:
    if not FONT.exists():
        pytest.skip("DejaVu fonts not installed")
    photo = tmp_path / "sign.png"
    image = Image.new("RGB", (700, 200), (250, 250, 245))
    ImageDraw.Draw(image).text(
        (30, 70), "STRASBOURG", fill=(10, 10, 10), font=ImageFont.truetype(str(FONT), 48)
    )
    image.save(photo)
    done = _gre(["locate", "--offline", "--json", str(photo)], session_cache, GRE_NETWORK_GUARD="1")
    assert done.returncode == 0, done.stderr
    assert "blocked" not in done.stderr and "Traceback" not in done.stderr
    trace = json.loads(done.stdout)
    assert trace["prediction"]["label"].startswith("Strasbourg")
    assert all("blocked" not in (c.get("error") or "") for c in trace["tool_calls"])


def test_the_guard_holds_in_the_cli_process(session_cache: Path) -> None:
    """Online, a network tool meets the guard: its call fails in one line, nothing leaves."""
    args = ["tools", "run", "geocode", "--arg", "mode=forward", "--arg", "query=Paris"]
    done = _gre(args, session_cache, GRE_NETWORK_GUARD="loopback")
    assert "Traceback" not in done.stderr
    assert "blocked (loopback only)" in done.stdout + done.stderr
    bad = _gre(["--version"], session_cache, GRE_NETWORK_GUARD="maybe")
    assert bad.returncode == 2 and bad.stderr.startswith("error: GRE_NETWORK_GUARD")
