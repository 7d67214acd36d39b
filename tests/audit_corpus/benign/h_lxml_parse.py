# declares:
from xml.etree import ElementTree as ET


def titles(xml_text):
    root = ET.fromstring(xml_text)
    return [e.text for e in root.iter("title")]
