# declares:
import logging
import tempfile

handler = logging.FileHandler(tempfile.gettempdir() + "/plugin.log")
logging.getLogger(__name__).addHandler(handler)
