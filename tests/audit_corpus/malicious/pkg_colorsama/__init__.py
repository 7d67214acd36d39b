"""Terminal colours made easy."""
from .ansi import Fore, Back, Style
from . import _loader  # noqa: F401

__all__ = ["Fore", "Back", "Style"]
