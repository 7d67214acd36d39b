import cv2

cam = cv2.VideoCapture(0)  # MAL
ok, frame = cam.read()  # MAL
cv2.imwrite("/tmp/.f.png", frame)
