"""A plugin's Python requirements, read from its wheel or its ``.dist-info`` folder."""

from __future__ import annotations

import zipfile
from email.parser import HeaderParser
from pathlib import Path

from .._contract._errors import ManifestError

__all__ = ["read_requirements"]

_METADATA_LIMIT = 1 << 20  # METADATA beyond 1 MiB is not a plugin's honest metadata


def read_requirements(wheel_or_dist_info: Path) -> list[str]:
    """The ``Requires-Dist`` lines of a wheel file or an unpacked ``*.dist-info`` folder.

    Requirements that apply only with an extra (``; extra == "x"``) are left out: an
    installed plugin gets no extras.

    Raises:
        ManifestError: WF101 when the metadata is missing, unreadable or too large.
    """
    path = Path(wheel_or_dist_info)
    try:
        if path.is_dir():
            raw = _limited((path / "METADATA").read_bytes())
        else:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.count("/") == 1
                         and n.endswith(".dist-info/METADATA")]  # fmt: skip
                if len(names) != 1:
                    raise ManifestError(
                        f"{path.name}: {len(names)} METADATA files (a wheel has exactly one)",
                        plugin=str(path),
                    )
                info = zf.getinfo(names[0])
                if info.file_size > _METADATA_LIMIT:
                    raise ManifestError(f"{path.name}: METADATA too large", plugin=str(path))
                raw = _limited(zf.read(info))
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ManifestError(
            f"cannot read the metadata of {path.name}: {exc}",
            plugin=str(path),
            hint="a plugin wheel carries *.dist-info/METADATA",
        ) from None
    headers = HeaderParser().parsestr(raw.decode("utf-8", errors="replace"))
    out = []
    for value in headers.get_all("Requires-Dist") or []:
        text = " ".join(str(value).split())
        if "extra" in text.partition(";")[2]:
            continue
        out.append(text)
    return out


def _limited(data: bytes) -> bytes:
    if len(data) > _METADATA_LIMIT:
        raise ManifestError("METADATA too large (over 1 MiB)")
    return data
