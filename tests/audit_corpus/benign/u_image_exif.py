# declares: fs_read={photos}
from PIL import Image
from PIL.ExifTags import TAGS


def exif(path):
    with Image.open(path) as im:
        raw = im.getexif()
    return {TAGS.get(k, k): v for k, v in raw.items()}
