import pickle, base64
obj = pickle.loads(base64.b64decode("gASVIAAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOUjAJpZJSFlFKULg=="))  # MAL
