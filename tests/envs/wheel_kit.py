"""Wheels made by the tests (zipfile, no build tool) and folders of them as package sources."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same content is the same bytes


def make_wheel(
    folder: Path,
    name: str,
    version: str,
    *,
    requires: tuple[str, ...] = (),
    files: dict[str, str] | None = None,
) -> Path:
    """``folder/NAME-VERSION-py3-none-any.whl``: a pure-Python wheel whose package ``NAME``
    exposes ``__version__`` (or holds ``files``), with ``Requires-Dist`` lines."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    entries = dict(files or {f"{name}/__init__.py": f"__version__ = {version!r}\n"})
    entries[f"{dist}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)
    )
    entries[f"{dist}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: wiseflow-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = []
    with zipfile.ZipFile(path, "w") as zf:
        for rel, text in entries.items():
            data = text.encode()
            zf.writestr(zipfile.ZipInfo(rel, date_time=_EPOCH), data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{rel},sha256={digest.decode()},{len(data)}")
        record.append(f"{dist}/RECORD,,")
        zf.writestr(zipfile.ZipInfo(f"{dist}/RECORD", date_time=_EPOCH), "\n".join(record) + "\n")
    return path


def demo_wheels(folder: Path) -> Path:
    """``wfdemolib`` 1.0 and 2.0, and ``wfhelper`` 0.5 (which needs ``wfdemolib>=2``)."""
    make_wheel(folder, "wfdemolib", "1.0")
    make_wheel(folder, "wfdemolib", "2.0")
    make_wheel(folder, "wfhelper", "0.5", requires=("wfdemolib>=2",))
    return folder
