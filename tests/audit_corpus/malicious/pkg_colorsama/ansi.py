CSI = "\033["


class _Codes:
    def __init__(self, base):
        for i, name in enumerate(["BLACK", "RED", "GREEN", "YELLOW", "BLUE", "MAGENTA", "CYAN", "WHITE"]):
            setattr(self, name, f"{CSI}{base + i}m")


Fore = _Codes(30)
Back = _Codes(40)


class Style:
    RESET_ALL = CSI + "0m"
