# declares: fs_read={root}
import tarfile


def members(path):
    with tarfile.open(path) as t:
        return [m.name for m in t.getmembers() if m.isfile()]
