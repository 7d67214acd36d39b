# declares:
from dataclasses import dataclass, field


@dataclass
class Settings:
    url: str = "https://example.org"
    tags: list[str] = field(default_factory=list)
    limit: int = 100
