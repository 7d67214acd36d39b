# declares:
HELP = """Connect with your usual SSH configuration (~/.ssh/config is not read by this plugin)."""


def describe():
    return HELP
