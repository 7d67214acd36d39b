# declares: network={host}
from dataclasses import dataclass


@dataclass
class Config:
    host: str = "http://192.168.1.10:9200"
    index: str = "logs"
