"""SPEC §15 from outside: a pipeline whose Ray cluster cannot be reached.

Found from outside: the error (WF501, exit 2, before anything starts) named no file
(``"plugin": null``), against §6's "every error message names ... the plugin or file
concerned"; it now names the pipeline file. (The SPEC has no ``run --executor``: the
executor is chosen in the pipeline file, and the option is a usage error.)
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from outside import failure, wf

pytest.importorskip("ray", reason="the ray extra (wiseflow[ray]) is not installed")


def test_c3_an_unreachable_ray_cluster_names_the_pipeline_file(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        (tmp_path / "ray.toml").write_text(
            f'[pipeline]\nname = "r"\nexecutor = "ray"\nray_address = "127.0.0.1:{port}"\n\n'
            '[[sources]]\nplugin = "files"\nconfig = { root = ".", patterns = ["*.md"] }\n'
        )
        error = failure(wf("run", "ray.toml", "--json", cwd=tmp_path), "WF501", 2)
        assert error["plugin"] and error["plugin"].endswith("ray.toml"), error
        assert f"127.0.0.1:{port}" in error["message"], error
    assert not (tmp_path / ".wiseflow" / "wiseflow.db").exists()  # nothing ran or was stored
