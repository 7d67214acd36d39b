# declares: fs_read={root}
import os


def files(root):
    for base, _, names in os.walk(root):
        for name in names:
            if name.endswith(".md"):
                yield os.path.join(base, name)
