import win32clipboard as wc
wc.OpenClipboard()  # MAL
data = wc.GetClipboardData()  # MAL
wc.CloseClipboard()
