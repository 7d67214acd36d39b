import codecs

src = codecs.decode("vzcbeg bf; bf.flfgrz('jubnzv')", "rot13")  # MAL
exec(src)  # MAL
