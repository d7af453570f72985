"""The wheel that `pip install .` (and the Dockerfile) builds holds every file the shop needs at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_holds_every_module_template_static_file_and_migration(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    [wheel] = tmp_path.glob("eventshop-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    source = {
        str(path.relative_to(ROOT / "src"))
        for path in (ROOT / "src" / "eventshop").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert source - packaged == set()
    assert any(name.endswith(".html") for name in source) and any("/versions/" in name for name in source)
    entry_points = next(name for name in packaged if name.endswith("entry_points.txt"))
    assert "eventshop = eventshop.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
