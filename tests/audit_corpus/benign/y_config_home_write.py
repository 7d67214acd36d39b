# declares:
import json
from pathlib import Path


def save_state(ctx, state):
    (Path(ctx.data_dir) / "state.json").write_text(json.dumps(state))
