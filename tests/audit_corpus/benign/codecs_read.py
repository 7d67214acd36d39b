# declares: fs_read={root}
import codecs


def read_latin1(path):
    with codecs.open(path, "r", encoding="latin-1") as fh:
        return fh.read()
