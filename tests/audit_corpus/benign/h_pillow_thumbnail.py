# declares: fs_read={images}
from PIL import Image


def thumb(path, size=(128, 128)):
    with Image.open(path) as im:
        im.thumbnail(size)
        return im.size
