s = "7072696e74282768692729".decode("hex")  # MAL
exec(s)  # MAL
