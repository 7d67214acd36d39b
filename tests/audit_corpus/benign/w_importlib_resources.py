# declares:
from importlib import resources


def template() -> str:
    return resources.files(__package__).joinpath("template.html").read_text()
