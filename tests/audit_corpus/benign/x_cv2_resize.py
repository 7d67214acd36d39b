# declares: fs_read={images}
import cv2


def shrink(path, out):
    img = cv2.imread(path)
    small = cv2.resize(img, (64, 64))
    cv2.imwrite(out, small)
