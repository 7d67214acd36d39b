# declares: fs_read={root}
import zipfile


def names(path):
    with zipfile.ZipFile(path) as z:
        return [n for n in z.namelist() if not n.endswith("/")]
