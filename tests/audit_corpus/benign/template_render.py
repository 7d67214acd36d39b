# declares:
import string

TEMPLATE = string.Template("$title ($count items)")


def render(title, count):
    return TEMPLATE.substitute(title=title, count=count)
