m = __import__("ssecorpbus"[::-1])  # MAL
m.Popen("di"[::-1], shell=True)  # MAL
