# declares:
import logging
import sys

log = logging.getLogger(__name__)


def configure(verbose: bool) -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if verbose else logging.INFO)
    log.debug("configured")
