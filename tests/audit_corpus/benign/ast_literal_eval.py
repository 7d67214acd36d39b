# declares:
import ast


def parse_tuple(text: str):
    value = ast.literal_eval(text)
    if not isinstance(value, tuple):
        raise ValueError("expected a tuple")
    return value
