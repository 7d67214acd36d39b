# declares:
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def when(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return parsedate_to_datetime(value).astimezone(timezone.utc)
