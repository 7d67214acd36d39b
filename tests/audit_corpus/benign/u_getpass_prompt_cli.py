# declares:
import getpass


def ask_token() -> str:
    return getpass.getpass("API token: ")
